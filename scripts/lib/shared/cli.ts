import { parseArgs, type ParseArgsConfig } from "node:util";

/** Exit codes shared by every Day-2 script (documented in each --help). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad flags or bad input: the user can fix the command line. Exit code 2. */
export class UsageError extends Error {}

/** A check or an operation failed (or was refused for a reason in the stack's state). Exit code 1. */
export class OperationError extends Error {}

/** Where a script writes: results to `out`, progress and errors to `err`. Injected by tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags strictly. Every parseArgs complaint becomes one line that names the flag and points at
 * --help, thrown as a UsageError.
 */
export function parseFlags<T extends FlagSpec>(
  script: string,
  spec: T,
  argv: string[],
): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>>["values"] {
  try {
    return parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = (error as Error).message.split("\n")[0]!.replace(/\.?\s*$/, "");
    throw new UsageError(`${script}: ${message}. Run with --help for usage.`);
  }
}

/** A flag that must be present: "backup: --stack is required (the Pulumi stack name, like dev)". */
export function required<V>(script: string, flag: string, value: V | undefined, what: string): V {
  if (value === undefined || value === "")
    throw new UsageError(`${script}: --${flag} is required (${what}).`);
  return value;
}

/** `raw` as a whole number (decimal digits only) from `min` to `max`, or undefined when it is not one. */
export function wholeNumber(raw: string, min: number, max: number): number | undefined {
  const n = Number(raw);
  return /^\d+$/.test(raw) && n >= min && n <= max ? n : undefined;
}

/** A whole-number flag within bounds, named in the error when it is not. */
export function intFlag(
  script: string,
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = wholeNumber(raw, min, max);
  if (n === undefined) {
    throw new UsageError(`${script}: --${flag} must be a whole number from ${min} to ${max} (got '${raw}').`);
  }
  return n;
}

/** Pulumi stack names, optionally qualified as org/project/stack; used as a directory under backups/. */
const STACK_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*){0,2}$/;

export function stackFlag(script: string, raw: string | undefined): string {
  const stack = required(script, "stack", raw, "the Pulumi stack name, like dev");
  if (!STACK_RE.test(stack) || stack.split("/").some((part) => /^\.+$/.test(part))) {
    throw new UsageError(
      `${script}: --stack must be a Pulumi stack name like dev or org/project/dev (got '${stack}').`,
    );
  }
  return stack;
}

/**
 * Runs a script's main function and turns its outcome into an exit code: UsageError -> 2, any other
 * error -> 1, with the message on stderr (never a stack trace for expected failures).
 */
export async function runMain(main: () => Promise<number>, io: Io = processIo): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(error.message);
      return EXIT.usage;
    }
    if (error instanceof OperationError) {
      io.err(error.message);
      return EXIT.failed;
    }
    io.err(`Unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.failed;
  }
}

/** Entry-point helper: run, then set the process exit code (lets streams flush). */
export function exitWith(main: () => Promise<number>): void {
  void runMain(main).then((code) => {
    process.exitCode = code;
  });
}
