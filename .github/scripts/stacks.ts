import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { EXIT, type Io, processIo } from "../../scripts/lib/shared/cli";

/**
 * Reads .github/stacks.json, the one list of stacks the workflows act on.
 *   stacks.ts list <preview|deploy|backup> [<stack>|all]   prints `stacks=[...]` for $GITHUB_OUTPUT
 *   stacks.ts guard-teardown <stack> <confirmation>        exits 1 naming why a teardown is refused
 * Exit codes: 0 ok, 1 refused, 2 bad usage or a broken stacks file.
 */

export const PURPOSES = ["preview", "deploy", "backup"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** Pulumi stack names: letters, digits, '-', '_' and '.'. */
const STACK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

const stackEntry = z
  .object({
    name: z.string().regex(STACK_NAME_RE, { error: "must be a stack name like dev or prod" }),
    preview: z.boolean({ error: "must be true or false" }),
    deploy: z.boolean({ error: "must be true or false" }),
    backup: z.boolean({ error: "must be true or false" }),
    protected: z.boolean({ error: "must be true or false" }),
  })
  .strict();

const stacksFile = z
  .object({
    $comment: z.string().optional(),
    stacks: z.array(stackEntry).min(1, { error: "lists no stack" }),
  })
  .strict();

export type StackEntry = z.infer<typeof stackEntry>;

export class StacksError extends Error {}

/** Parses and checks the stacks file; every problem is reported at once, each with its place. */
export function parseStacks(text: string, file = ".github/stacks.json"): StackEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StacksError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const result = stacksFile.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${file}: ${i.path.join(".") || "(top)"} ${i.message}`);
    throw new StacksError(problems.join("\n"));
  }
  const names = result.data.stacks.map((s) => s.name);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length > 0)
    throw new StacksError(`${file} lists ${[...new Set(dupes)].join(", ")} more than once`);
  return result.data.stacks;
}

/** The stacks a workflow runs for: all enabled for `purpose`, or the one named (which must be enabled). */
export function pickStacks(stacks: StackEntry[], purpose: Purpose, only = "all"): string[] {
  if (only === "all" || only === "") return stacks.filter((s) => s[purpose]).map((s) => s.name);
  const entry = stacks.find((s) => s.name === only);
  if (!entry) {
    throw new StacksError(
      `stack '${only}' is not in .github/stacks.json (known: ${stacks.map((s) => s.name).join(", ")}); add it there first`,
    );
  }
  if (!entry[purpose]) {
    throw new StacksError(`stack '${only}' has "${purpose}": false in .github/stacks.json`);
  }
  return [entry.name];
}

/**
 * Why tearing down `stack` is refused, or undefined when it may go. Refuses a stack that is not
 * listed, is marked protected, or whose stack file says production or delete protection.
 */
export function teardownRefusal(
  stacks: StackEntry[],
  stack: string,
  confirmation: string,
  stackFileText: string | undefined,
): string | undefined {
  if (!STACK_NAME_RE.test(stack)) return `'${stack}' is not a stack name`;
  if (confirmation !== stack) {
    return `the confirmation '${confirmation}' does not match the stack name '${stack}'; type the name twice`;
  }
  const entry = stacks.find((s) => s.name === stack);
  if (!entry) return `stack '${stack}' is not in .github/stacks.json, so nothing says it may be torn down`;
  if (entry.protected) {
    return `stack '${stack}' is protected in .github/stacks.json; set "protected": false in a reviewed change first`;
  }
  if (stackFileText === undefined) return `Pulumi.${stack}.yaml does not exist`;
  const config = ((parse(stackFileText) as { config?: Record<string, unknown> } | null)?.config ??
    {}) as Record<string, unknown>;
  if (String(config["jitsi:environment"]) === "production") {
    return `Pulumi.${stack}.yaml sets jitsi:environment production; production stacks are never torn down from CI`;
  }
  if (String(config["jitsi:deleteProtection"]) === "true") {
    return `Pulumi.${stack}.yaml sets jitsi:deleteProtection true; turn it off with a deploy first`;
  }
  return undefined;
}

/** The workflows' entry point: prints a step output line or a reason, and returns the exit code. */
export function main(argv: string[], io: Io = processIo): number {
  const root = path.resolve(__dirname, "../..");
  const [command, ...args] = argv;
  try {
    const stacks = parseStacks(readFileSync(path.join(root, ".github/stacks.json"), "utf8"));
    if (command === "list" && PURPOSES.includes(args[0] as Purpose) && args.length <= 2) {
      io.out(`stacks=${JSON.stringify(pickStacks(stacks, args[0] as Purpose, args[1]))}`);
      return EXIT.ok;
    }
    if (command === "guard-teardown" && args.length === 2) {
      const file = path.join(root, `Pulumi.${args[0]}.yaml`);
      const text = existsSync(file) ? readFileSync(file, "utf8") : undefined;
      const refusal = teardownRefusal(stacks, args[0]!, args[1]!, text);
      if (refusal) {
        io.err(`Refusing to tear down: ${refusal}`);
        return EXIT.failed;
      }
      io.out(`Stack '${args[0]}' may be torn down.`);
      return EXIT.ok;
    }
    io.err(
      "usage: stacks.ts list <preview|deploy|backup> [<stack>|all]\n       stacks.ts guard-teardown <stack> <confirmation>",
    );
    return EXIT.usage;
  } catch (e) {
    if (!(e instanceof StacksError)) throw e;
    io.err(e.message);
    return EXIT.usage;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
