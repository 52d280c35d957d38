import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseDocument, visit } from "yaml";
import { STACK_FILE_ENV } from "../../../config/schema";
import { VM_LAYOUT } from "../../../config/versions";
import { type Io, OperationError, processIo } from "../shared/cli";
import type { StackConfig } from "../shared/stackConfig";
import {
  type OfflineRun,
  type PlannedResource,
  type ProgramLoader,
  redactForDisplay,
  redactSecrets,
  redactText,
  revealSecrets,
  runOffline,
} from "./offlineEngine";
import { formatPlanTable } from "./planSummary";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");

/** Fails when a known secret shows up anywhere it is not marked secret. */
function assertNoUnmarkedSecrets(run: OfflineRun): void {
  for (const resource of run.resources) {
    const visible = JSON.stringify(redactSecrets(resource.inputs));
    if (redactText(visible, run.secretValues) !== visible) {
      throw new Error(`a secret value appears unmarked in the inputs of ${resource.type} '${resource.name}'`);
    }
  }
  const visibleOutputs = JSON.stringify(redactSecrets(run.outputs));
  if (redactText(visibleOutputs, run.secretValues) !== visibleOutputs) {
    throw new Error("a secret value appears in a stack output that is not marked secret");
  }
}

export interface RenderedFiles {
  plan: string;
  cloudInit: string;
  env: string;
  /** The TURN relay's user-data, when the stack runs one. */
  turnCloudInit?: string;
}

/** A server's user-data with every secret replaced, still the same YAML document. */
function redactedUserData(run: OfflineRun, server: PlannedResource | undefined) {
  const userData = String(revealSecrets(server?.inputs.userData) ?? "");
  // Redact inside the YAML's string values, so the result stays the same document (a bare [secret]
  // pasted into YAML text would turn into a list).
  const document = parseDocument(userData);
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === "string") node.value = redactText(node.value, run.secretValues);
    },
  });
  return document;
}

/** The files `render` writes, with every secret replaced by "[secret]". */
export function renderFiles(run: OfflineRun): RenderedFiles {
  const plan = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    inputs: redactForDisplay(r.inputs, run.secretValues),
  }));
  const servers = run.resources.filter((r) => r.type === "hcloud:index/server:Server");
  const role = (server: PlannedResource) =>
    (server.inputs.labels as Record<string, string> | undefined)?.role;
  // The meeting VM carries no role label; satellites do.
  const document = redactedUserData(
    run,
    servers.find((server) => role(server) === undefined),
  );
  const cloudInit = document.toString({ lineWidth: 0 });
  const files =
    (document.toJS() as { write_files?: Array<{ path: string; content: string }> } | null)?.write_files ?? [];
  const env = files.find((f) => f.path === `${VM_LAYOUT.jitsiDir}/.env`)?.content ?? "";
  const turn = servers.find((server) => role(server) === "turn");
  return {
    plan: JSON.stringify(plan, null, 2) + "\n",
    cloudInit,
    env,
    turnCloudInit: turn ? redactedUserData(run, turn).toString({ lineWidth: 0 }) : undefined,
  };
}

/** The program as the Pulumi CLI loads it: CommonJS, through the npm script's TypeScript hook. */
const requireProgram: ProgramLoader = () =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded as CommonJS, as the Pulumi CLI does (through the npm script's TypeScript hook)
  require(path.join(PROJECT_ROOT, "infra", "index.ts")) as Record<string, unknown>;

/**
 * `npm run render` once its flags and stack file are good: runs the Pulumi program under the mock
 * engine, writes plan.json, cloud-init.yaml, jitsi.env (and the TURN relay's user-data) to `out`,
 * and prints the plan to `io`. Throws an OperationError for invalid settings or a secret found unmarked.
 * `load` is for tests that render in their own process, where the program is imported through their
 * module loader.
 */
export async function renderStack(
  stack: string,
  stackFile: string,
  stackConfig: StackConfig,
  out: string,
  io: Io = processIo,
  load: ProgramLoader = requireProgram,
) {
  // The program names the file in its messages (a plain-text secret "in <file>"); the CLI's is Pulumi.<stack>.yaml.
  // Set for the program's run only: a caller in the same process (a test) gets its environment back.
  const previousStackFile = process.env[STACK_FILE_ENV];
  process.env[STACK_FILE_ENV] = path.basename(stackFile);
  let run: OfflineRun;
  try {
    run = await runOffline({ project: "jitsi-stack", stack, stackConfig, load });
    assertNoUnmarkedSecrets(run);
  } catch (error) {
    // Invalid settings, or a secret found unmarked: say what, without a stack trace.
    throw new OperationError(`render: ${(error as Error).message}`, { cause: error });
  } finally {
    if (previousStackFile === undefined) delete process.env[STACK_FILE_ENV];
    else process.env[STACK_FILE_ENV] = previousStackFile;
  }
  const files = renderFiles(run);

  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "plan.json"), files.plan);
  writeFileSync(path.join(out, "cloud-init.yaml"), files.cloudInit);
  writeFileSync(path.join(out, "jitsi.env"), files.env);
  if (files.turnCloudInit !== undefined)
    writeFileSync(path.join(out, "turn-cloud-init.yaml"), files.turnCloudInit);

  io.out(`Stack '${stack}': ${run.resources.length} resources (offline render; nothing was deployed)\n`);
  io.out(formatPlanTable(run.resources, run.secretValues));
  io.out(
    "\nIds (100001 and up) and addresses (203.0.113.0/24, 2001:db8::/32, documentation ranges) are the mock" +
      " engine's placeholders; Hetzner assigns the real ones on `pulumi up`.",
  );
  io.out("\nOutputs:");
  const outputs = Object.entries(redactSecrets(run.outputs) as Record<string, unknown>);
  const width = Math.max(...outputs.map(([key]) => key.length));
  for (const [key, value] of outputs) {
    io.out(`  ${key.padEnd(width)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  if (stackConfig.placeholders.length > 0) {
    io.out(`\nEncrypted settings replaced by placeholders offline: ${stackConfig.placeholders.join(", ")}`);
  }
  io.out(
    `\nWrote ${["plan.json", "cloud-init.yaml", "jitsi.env", ...(files.turnCloudInit === undefined ? [] : ["turn-cloud-init.yaml"])].map((f) => path.join(out, f)).join(", ")}`,
  );
}
