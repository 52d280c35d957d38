import { execFile, type ExecFileOptions, execFileSync } from "node:child_process";

export interface Finished {
  /** The exit code; null if the command could not start, or was killed (timeout). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end without blocking the test process, so that tests can run it concurrently.
 * `input`, when given, is written to its standard input, which is then closed.
 */
export function runCommand(
  command: string,
  args: string[],
  options: ExecFileOptions & { input?: string } = {},
): Promise<Finished> {
  const { input, ...execOptions } = options;
  return new Promise((resolve) => {
    const child = execFile(command, args, { ...execOptions, encoding: "utf8" }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ status, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * runCommand, at most `limit` commands at a time: CPU-bound runs beyond the machine's cores only slow
 * each other (and the other test files) down, and a slowed run can hit its test's timeout.
 */
export function commandPool(limit: number): typeof runCommand {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (command, args, options) => {
    while (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await runCommand(command, args, options);
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/** Where a command is on PATH (the shell's `command -v`), or undefined when it is not there. */
export function which(cmd: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", 'command -v "$1"', "sh", cmd]).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
