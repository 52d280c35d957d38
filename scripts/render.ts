import { existsSync } from "node:fs";
import path from "node:path";
import { NAMESPACE, offlinePlaceholder } from "../config/schema";
import { EXIT, exitWith, type Io, OperationError, parseFlags, processIo, UsageError } from "./lib/shared/cli";
import { readStackConfig, StackFileError } from "./lib/shared/stackConfig";

export const RENDER_HELP = `Usage: npm run render -- [--stack NAME] [--out DIR] [--stack-file FILE]

Renders the whole deployment offline, from Pulumi.<stack>.yaml, by running the real Pulumi program
under Pulumi's mock engine. Needs no credentials, no Pulumi CLI and no network.

  --stack NAME   stack whose Pulumi.<NAME>.yaml to use (default: dev, or the name in
                 --stack-file's Pulumi.<NAME>.yaml, or that file's base name)
  --out DIR      where to write plan.json, cloud-init.yaml, jitsi.env and, with TURN on,
                 turn-cloud-init.yaml (default: out/<stack>)
  --stack-file FILE
                 read the stack's settings from FILE instead of Pulumi.<NAME>.yaml
  --help         show this text

Exit codes: 0 rendered; 1 invalid settings or a secret found unmarked; 2 bad usage.`;

const PROJECT_ROOT = path.resolve(__dirname, "..");

const FLAGS = {
  stack: { type: "string" },
  out: { type: "string" },
  "stack-file": { type: "string" },
  help: { type: "boolean" },
} as const;

/** Stack names here are plain (dev, prod): each names a Pulumi.<stack>.yaml file. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The stack a settings file stands for: Pulumi.<name>.yaml names it, any other file by its base name. */
function stackNameOf(file: string): string {
  const base = path.basename(file);
  const named = /^Pulumi\.(.+)\.ya?ml$/.exec(base)?.[1];
  return named ?? base.replace(/\.ya?ml$/, "");
}

/** What renders a stack once its flags and settings are good: renderStack, or a test's in-process stand-in. */
export type StackRenderer = (
  ...args: Parameters<typeof import("./lib/render/renderStack").renderStack>
) => Promise<void>;

/**
 * renderStack, loaded only when called: the Pulumi SDK takes a second to load, and a usage error need
 * not wait for it.
 */
const renderLazily: StackRenderer = (...args) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load (the npm script runs this file as CommonJS)
  const { renderStack } = require("./lib/render/renderStack") as typeof import("./lib/render/renderStack");
  return renderStack(...args);
};

/** `npm run render`. Tests call it in-process with captured `io` and a renderer that imports the program their way. */
export async function renderMain(
  argv: string[],
  io: Io = processIo,
  render: StackRenderer = renderLazily,
): Promise<number> {
  const flags = parseFlags("render", FLAGS, argv);
  if (flags.help) {
    io.out(RENDER_HELP);
    return EXIT.ok;
  }
  const givenFile = flags["stack-file"];
  const stack = flags.stack ?? (givenFile ? stackNameOf(givenFile) : "dev");
  if (!STACK_NAME.test(stack)) {
    const from = flags.stack === undefined ? ` (taken from the file name; pass --stack NAME)` : "";
    throw new UsageError(
      `render: --stack must be a stack name like dev or prod (got '${stack}'${from}). Run with --help for usage.`,
    );
  }
  const out = flags.out ?? path.join("out", stack);
  const stackFile = givenFile ?? path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  // Named as the user gave it: a relative path from the project root reads as nonsense elsewhere.
  const shownFile = givenFile ?? path.relative(process.cwd(), stackFile);
  if (!existsSync(stackFile)) {
    throw new UsageError(
      `render: no stack file ${shownFile}; create it, or pass --stack or --stack-file naming one that exists.`,
    );
  }
  let stackConfig;
  try {
    stackConfig = readStackConfig(stackFile, (key, placeholder) =>
      key.startsWith(`${NAMESPACE}:`)
        ? offlinePlaceholder(key.slice(NAMESPACE.length + 1), placeholder)
        : placeholder,
    );
  } catch (error) {
    if (error instanceof StackFileError) {
      throw new OperationError(`render: ${error.message.replace(stackFile, shownFile)}`, { cause: error });
    }
    throw error;
  }
  await render(stack, stackFile, stackConfig, out, io);
  return EXIT.ok;
}

if (require.main === module) exitWith(() => renderMain(process.argv.slice(2)));
