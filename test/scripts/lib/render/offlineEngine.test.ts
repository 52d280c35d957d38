import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { describe, expect, it } from "vitest";
import { redactForDisplay, runOffline } from "../../../../scripts/lib/render/offlineEngine";

const run = (load: () => Record<string, unknown>) =>
  runOffline({
    project: "jitsi-stack",
    stack: "dev",
    stackConfig: { config: {}, secretKeys: [], placeholders: [] },
    load,
  });

/** A program whose second resource's input throws while it resolves, run in a process of its own. */
const FAILING_PROGRAM = `
const random = require("@pulumi/random");
const { runOffline } = require("./scripts/lib/render/offlineEngine.ts");
runOffline({
  project: "jitsi-stack",
  stack: "dev",
  stackConfig: { config: {}, secretKeys: [], placeholders: [] },
  load: () => {
    const password = new random.RandomPassword("p", { length: 16 });
    new random.RandomPassword("q", {
      length: password.result.apply(() => {
        throw new Error("cloud-init user-data is 40000 bytes; Hetzner accepts at most 32768");
      }),
    });
    return {};
  },
}).then(
  () => console.log("resolved"),
  (error) => { console.log("rejected: " + error.message); process.exit(0); },
);
`;

describe("the offline engine", () => {
  it("fails the run, at once, with the program's own message when an input cannot be computed", () => {
    // In a child process: the failure is an unhandled rejection inside the SDK, which vitest would report too.
    const result = spawnSync(
      process.execPath,
      ["--require", "ts-node/register/transpile-only", "-e", FAILING_PROGRAM],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    expect(result.stdout.trim()).toBe(
      'rejected: error serializing property "length": cloud-init user-data is 40000 bytes; Hetzner accepts at most 32768',
    );
  });

  it("records what each resource waits for", async () => {
    const result = await run(() => {
      const first = new random.RandomPassword("first", { length: 16 });
      new random.RandomPassword("second", { length: 16 }, { dependsOn: [first] });
      return { out: pulumi.output("x") };
    });
    expect(result.resources.find((r) => r.name === "second")?.dependsOn).toEqual(["first"]);
    expect(result.resources.find((r) => r.name === "first")?.dependsOn).toEqual([]);
  });

  it("opens a secret list for display, blanking every known secret and every secret_text in it", () => {
    const wrapped = (value: unknown) => ({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value,
    });
    const secret = "s3cr3t-value-0123456789";
    const shown = redactForDisplay(
      {
        bindings: wrapped([
          { type: "plain_text", name: "APP", text: "my-app" },
          { type: "plain_text", name: "LEAK", text: `prefix-${secret}` },
          { type: "secret_text", name: "KEY", text: "not-in-the-list-but-secret" },
        ]),
        password: wrapped("plain-leaf"),
        name: "visible",
      },
      [secret],
    );
    expect(shown).toEqual({
      bindings: [
        { type: "plain_text", name: "APP", text: "my-app" },
        { type: "plain_text", name: "LEAK", text: "[secret]" },
        { type: "secret_text", name: "KEY", text: "[secret]" },
      ],
      password: "[secret]",
      name: "visible",
    });
  });
});
