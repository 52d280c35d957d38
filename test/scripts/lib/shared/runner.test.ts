import { describe, expect, it } from "vitest";
import { spawnRunner } from "../../../../scripts/lib/shared/runner";

describe("the command runner", () => {
  it("adds the variables it is given to the command's environment, and keeps the rest", async () => {
    const script = 'printf "%s|%s" "$JITSI_SKIP_DRAIN" "${PATH:+path}"';
    const withEnv = await spawnRunner("sh", ["-c", script], { env: { JITSI_SKIP_DRAIN: "all" } });
    expect(withEnv).toMatchObject({ exitCode: 0, stdout: "all|path" });
    const without = await spawnRunner("sh", ["-c", script]);
    expect(without.stdout).toBe(
      process.env.JITSI_SKIP_DRAIN === undefined ? "|path" : `${process.env.JITSI_SKIP_DRAIN}|path`,
    );
  });
});
