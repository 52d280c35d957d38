import { describe, expect, it } from "vitest";
import { revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { exampleConfig, runProgram } from "../helpers/program";

// The plan of the example stack as it was before the private network and bridges existed
// (test/infra/__snapshots__/default-plan.json, recorded from the code before that change). With the
// defaults, nothing may differ: no new resource, no renamed one, no changed input, user-data included.
describe("the default plan (no bridges)", async () => {
  const run = await runProgram(exampleConfig());
  const plan = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    dependsOn: r.dependsOn,
    inputs: revealSecrets(r.inputs),
  }));

  it("is byte-for-byte the single-VM plan of before: same resources, names, inputs and user-data", async () => {
    await expect(
      JSON.stringify({ resources: plan, outputs: revealSecrets(run.outputs) }, null, 2) + "\n",
    ).toMatchFileSnapshot("__snapshots__/default-plan.json");
  });
});
