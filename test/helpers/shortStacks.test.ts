import { describe, expect, it } from "vitest";
import { PROGRAM_STACK_FRAMES, withShortStacks } from "./shortStacks";

const frames = (err: Error) =>
  err.stack!.split("\n").filter((line) => line.trimStart().startsWith("at ")).length;
const deep = (n: number): Error => (n === 0 ? new Error("deep") : deep(n - 1));

describe("withShortStacks", () => {
  it("shortens stacks while the function runs, and restores the limit after", async () => {
    const before = Error.stackTraceLimit;
    expect(before).toBeGreaterThan(PROGRAM_STACK_FRAMES);
    const inside = await withShortStacks(async () => {
      await Promise.resolve();
      return deep(20);
    });
    expect(frames(inside)).toBe(PROGRAM_STACK_FRAMES);
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(deep(20))).toBe(before);
  });

  it("restores the limit when the function throws, and when runs nest", async () => {
    const before = Error.stackTraceLimit;
    await expect(
      withShortStacks(async () => {
        await withShortStacks(async () => undefined);
        // The inner run ended; the outer one still has short stacks.
        expect(Error.stackTraceLimit).toBe(PROGRAM_STACK_FRAMES);
        throw new Error("the program failed");
      }),
    ).rejects.toThrow("the program failed");
    expect(Error.stackTraceLimit).toBe(before);
  });
});
