/**
 * How many frames a stack trace keeps while the Pulumi program runs under the mock engine in a test.
 * The SDK stamps every promise it makes with `new Error().stack` (runtime/debuggable.js), and in a
 * vitest worker each of those stacks is mapped frame by frame through source maps. On the example
 * stack a mock run took 353 ms of CPU at V8's default of 10 frames and 146 ms at 2 (measured in a
 * vitest worker); the real `npm run render`, without vitest's mapping, gains 0.2 s of 2.4 s, so the
 * program itself is left as it is. Errors the program throws keep their message and first frames.
 */
export const PROGRAM_STACK_FRAMES = 2;

let depth = 0;
let saved = Error.stackTraceLimit;

/** Runs `fn` with short stack traces (PROGRAM_STACK_FRAMES), then puts the limit back, even when nested. */
export async function withShortStacks<T>(fn: () => Promise<T>): Promise<T> {
  if (depth++ === 0) {
    saved = Error.stackTraceLimit;
    Error.stackTraceLimit = PROGRAM_STACK_FRAMES;
  }
  try {
    return await fn();
  } finally {
    if (--depth === 0) Error.stackTraceLimit = saved;
  }
}
