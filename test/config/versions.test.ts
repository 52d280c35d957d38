import { describe, expect, it } from "vitest";
import { ISSUER_NODE_IMAGE } from "../../config/versions";

/**
 * Node.js LTS lines from the release schedule (https://github.com/nodejs/release#release-schedule):
 * when each became Active LTS and when it reaches end of life. Add a line when it enters Active LTS.
 */
const NODE_LTS_LINES: Record<number, { activeLts: string; endOfLife: string }> = {
  22: { activeLts: "2024-10-29", endOfLife: "2027-04-30" },
  24: { activeLts: "2025-10-28", endOfLife: "2028-04-30" },
};

describe("pinned versions", () => {
  it("runs the host-mode issuer on the newest Node LTS line, pinned to an exact release, and still supported", () => {
    const match = /^node:(\d+)\.\d+\.\d+-alpine\d+\.\d+$/.exec(ISSUER_NODE_IMAGE);
    expect(
      match,
      `ISSUER_NODE_IMAGE must be an exact node:X.Y.Z-alpineA.B tag (got ${ISSUER_NODE_IMAGE})`,
    ).not.toBeNull();
    const major = Number(match![1]);
    const today = new Date().toISOString().slice(0, 10);
    const newestLts = Math.max(
      ...Object.entries(NODE_LTS_LINES)
        .filter(([, line]) => line.activeLts <= today)
        .map(([line]) => Number(line)),
    );
    expect(major).toBe(newestLts);
    expect(today < NODE_LTS_LINES[major]!.endOfLife, `Node ${major} is past its end of life`).toBe(true);
  });
});
