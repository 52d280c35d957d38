import { describe, expect, it } from "vitest";
import { testWorkers } from "./workers.mjs";

describe("TEST_WORKERS", () => {
  it("defaults to two workers per core, and takes a whole number", () => {
    expect(testWorkers({}, 2)).toBe(4);
    expect(testWorkers({ TEST_WORKERS: "" }, 3)).toBe(6);
    expect(testWorkers({ TEST_WORKERS: "1" }, 2)).toBe(1);
    expect(testWorkers({ TEST_WORKERS: "12" }, 2)).toBe(12);
  });

  it.each(["abc", "0", "-2", "2.5", " 4", "4 ", "1e1", "100", "0x4"])(
    "refuses TEST_WORKERS=%j, naming it",
    (value) => {
      expect(() => testWorkers({ TEST_WORKERS: value }, 2)).toThrow(
        `TEST_WORKERS must be a whole number from 1 to 99 (got '${value}')`,
      );
    },
  );
});
