import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { describe, expect, it } from "vitest";
import { runOffline } from "../../../scripts/lib/offlineEngine";

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
const { runOffline } = require("./scripts/lib/offlineEngine.ts");
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
});
