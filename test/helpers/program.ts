import { vi } from "vitest";
import { type OfflineRun, runOffline } from "../../scripts/lib/render/offlineEngine";
import { readStackConfig, type StackConfig } from "../../scripts/lib/shared/stackConfig";
import { withShortStacks } from "./shortStacks";

/** The example stack's config, with `jitsi:` settings overridden (undefined removes a key). */
export function exampleConfig(
  overrides: Record<string, string | undefined> = {},
  secretKeys: string[] = [],
): StackConfig {
  const base = readStackConfig("Pulumi.dev.yaml");
  const config = { ...base.config };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete config[`jitsi:${key}`];
    else config[`jitsi:${key}`] = value;
  }
  return { config, secretKeys: secretKeys.map((k) => `jitsi:${k}`), placeholders: [] };
}

/**
 * Imports the real infra/index.ts as a fresh module (the program declares its resources when it is
 * evaluated), through vitest's loader: the Pulumi SDK in node_modules stays loaded, so it is the same
 * instance as the mocks'.
 */
export async function importFreshProgram(): Promise<Record<string, unknown>> {
  vi.resetModules();
  return (await import("../../infra/index.js")) as Record<string, unknown>;
}

/** Runs the real infra/index.ts under Pulumi's mock engine, as a fresh module each time (with short stacks). */
export async function runProgram(stackConfig: StackConfig, stack = "dev"): Promise<OfflineRun> {
  return withShortStacks(() =>
    runOffline({ project: "jitsi-stack", stack, stackConfig, load: importFreshProgram }),
  );
}

export const ofType = (run: OfflineRun, type: string) => run.resources.filter((r) => r.type === type);

/** Recording on with two recorders, as a stack file would hold it: pass RECORDING_SECRET_KEYS too. */
export const RECORDING_EXAMPLE = {
  recordingEnabled: "true",
  recorders: "2",
  recordingBucket: "meet-recordings",
  recordingAccessKeyId: "HZ4SAMPLEKEY0000ABCD",
  recordingSecretAccessKey: "s3cr3tS4mpleKeyWith40Chars/abcdefghij+XY",
};
/** The recording settings that are secrets: exampleConfig stores them as the CLI would. */
export const RECORDING_SECRET_KEYS = ["recordingAccessKeyId", "recordingSecretAccessKey"];
