import { afterAll, beforeAll, expect } from "vitest";

/**
 * Every test file shares its worker process with the files run before it (vitest.config.mts:
 * `isolate: false`), which saves loading the Pulumi SDK, vitest and the helpers once per file. That
 * is safe only while no file leaves the process changed for the next one, so each file must hand the
 * process back as it found it: the same environment, working directory, exit code and stack trace
 * limit (test/helpers/shortStacks.ts lowers it while a program runs).
 */
let env: Record<string, string | undefined>;
let cwd: string;
let exitCode: typeof process.exitCode;
let stackTraceLimit: number;

beforeAll(() => {
  env = { ...process.env };
  cwd = process.cwd();
  exitCode = process.exitCode;
  stackTraceLimit = Error.stackTraceLimit;
});

afterAll(() => {
  expect({ ...process.env }, "a test file left process.env changed").toEqual(env);
  expect(process.cwd(), "a test file left the working directory changed").toBe(cwd);
  expect(process.exitCode, "a test file left process.exitCode set").toBe(exitCode);
  expect(Error.stackTraceLimit, "a test file left Error.stackTraceLimit changed").toBe(stackTraceLimit);
});
