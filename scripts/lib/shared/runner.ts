import { spawn } from "node:child_process";
import { OperationError } from "./cli";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Let the command talk to the terminal directly (for `pulumi destroy`, whose progress the user watches). */
  inheritStdio?: boolean;
  /** Variables added to this process's environment for the command. */
  env?: Record<string, string>;
}

/**
 * Runs a program (never through a shell). The Pulumi CLI is reached only through this, so tests can pass
 * a recording stand-in instead.
 */
export type CommandRunner = (file: string, args: string[], options?: RunOptions) => Promise<CommandResult>;

export const spawnRunner: CommandRunner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: options.inheritStdio ? "inherit" : ["ignore", "pipe", "pipe"],
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new OperationError(`${file} was not found on PATH; install it or fix PATH.`)
          : new OperationError(`Could not run ${file}: ${error.message}`),
      );
    });
    child.on("close", (code, signal) => {
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
