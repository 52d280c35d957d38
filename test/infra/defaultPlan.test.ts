import { describe, expect, it } from "vitest";
import { revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { exampleConfig, runProgram } from "../helpers/program";

// The plan of the example stack as it was before the private network and bridges existed
// (test/infra/__snapshots__/default-plan.json, recorded from the code before that change). With the
// defaults, nothing may differ: no new resource, no renamed one, no changed input, user-data included.
/**
 * The Worker's code is the issuer's bundle, which changes with the issuer (test/issuer/bundle.test.ts
 * holds it); this test is about what the stack declares, so the snapshot keeps every other input.
 */
function withoutWorkerCode(type: string, inputs: Record<string, unknown>) {
  return type === "cloudflare:index/workersScript:WorkersScript"
    ? { ...inputs, content: "[the issuer's Worker bundle]" }
    : inputs;
}

describe("the default plan (no bridges)", async () => {
  const run = await runProgram(exampleConfig());
  const plan = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    dependsOn: r.dependsOn,
    inputs: withoutWorkerCode(r.type, revealSecrets(r.inputs) as Record<string, unknown>),
  }));

  it("is byte-for-byte the single-VM plan of before: same resources, names, inputs and user-data", async () => {
    await expect(
      JSON.stringify({ resources: plan, outputs: revealSecrets(run.outputs) }, null, 2) + "\n",
    ).toMatchFileSnapshot("__snapshots__/default-plan.json");
  });
});
