import { describe, expect, it } from "vitest";
import { JITSI_RELEASE } from "../../config/versions";
import { unpinnedRelease, unprotectedProductionServer, type ServerInputs } from "../../policy/server";

const labels = (environment: string, extra: Record<string, string> = {}) => ({
  app: "jitsi-stack",
  stack: "prod",
  environment,
  "jitsi-release": JITSI_RELEASE.tag,
  "jitsi-commit": JITSI_RELEASE.commit,
  ...extra,
});

describe("a production server is protected against delete and rebuild", () => {
  it("accepts a protected production server and unprotected dev or staging servers", () => {
    const prod = { deleteProtection: true, rebuildProtection: true, labels: labels("production") };
    expect(unprotectedProductionServer(prod)).toEqual([]);
    for (const environment of ["dev", "staging"]) {
      expect(unprotectedProductionServer({ deleteProtection: false, labels: labels(environment) })).toEqual(
        [],
      );
    }
  });

  it.each<[string, ServerInputs, string]>([
    ["no protection", { labels: labels("production") }, "without deleteProtection and rebuildProtection"],
    [
      "delete protection only",
      { deleteProtection: true, rebuildProtection: false, labels: labels("production") },
      "without rebuildProtection",
    ],
    [
      "rebuild protection only",
      { deleteProtection: false, rebuildProtection: true, labels: labels("production") },
      "without deleteProtection",
    ],
  ])("flags a production server with %s", (_what, server, expected) => {
    const [violation, ...rest] = unprotectedProductionServer(server);
    expect(rest).toEqual([]);
    expect(violation).toContain(expected);
    expect(violation).toContain('jitsi:deleteProtection "true"');
  });

  it("refuses to guess when the environment label is missing or unknown", () => {
    expect(unprotectedProductionServer({ labels: { app: "jitsi-stack" } })[0]).toMatch(
      /label 'environment' is missing/,
    );
    expect(unprotectedProductionServer({ labels: labels("prod") })[0]).toMatch(
      /label 'environment' is 'prod'; it must be one of dev, staging, production/,
    );
  });
});

describe("the Jitsi release is pinned by tag and commit", () => {
  it("accepts the pinned release", () => {
    expect(unpinnedRelease({ labels: labels("dev") })).toEqual([]);
    expect(unpinnedRelease({ labels: labels("dev", { "jitsi-release": "stable-9955" }) })).toEqual([]);
  });

  it.each([
    ["a moving tag", { "jitsi-release": "latest" }, /jitsi-release' is 'latest'/],
    ["a branch", { "jitsi-release": "master" }, /jitsi-release' is 'master'/],
    ["an unstable tag", { "jitsi-release": "unstable-1234" }, /jitsi-release'/],
    ["a short commit", { "jitsi-commit": "738058b" }, /jitsi-commit' is '738058b'/],
    ["an upper-case commit", { "jitsi-commit": JITSI_RELEASE.commit.toUpperCase() }, /jitsi-commit'/],
  ])("flags %s", (_what, extra, expected) => {
    const violations = unpinnedRelease({ labels: labels("dev", extra) });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(expected);
  });

  it("flags a server without release labels, naming both", () => {
    const violations = unpinnedRelease({ labels: { app: "jitsi-stack" } });
    expect(violations).toEqual([
      expect.stringContaining("label 'jitsi-release' is missing"),
      expect.stringContaining("label 'jitsi-commit' is missing"),
    ]);
  });
});
