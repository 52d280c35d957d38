import { describe, expect, it } from "vitest";
import {
  AUTH_FAILURES_PER_MINUTE,
  failureLimiter,
  memoryLimiter,
  type RateLimiter,
} from "../../issuer/rateLimit";

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const statuses = async (limit: RateLimiter, keys: string[]) => {
  const out: number[] = [];
  for (const k of keys) out.push((await limit(k)) ? 200 : 429);
  return out;
};

describe("Node rate limiter", () => {
  it("keeps a caller's count when the table is full: new callers are refused instead (reviewer's case, 3 keys)", async () => {
    const clock = manualClock();
    const limit = memoryLimiter(2, { maxKeys: 3, now: clock.now });
    expect(await statuses(limit, ["a", "a", "a"])).toEqual([200, 200, 429]);
    clock.advance(1_000);
    // b and c fill the table; d finds every window live and is refused rather than evicting a.
    expect(await statuses(limit, ["b", "c", "d"])).toEqual([200, 200, 429]);
    expect(await statuses(limit, ["a", "b", "c"])).toEqual([429, 200, 200]);
  });

  it("frees expired windows for new callers and starts a caller afresh after its minute", async () => {
    const clock = manualClock();
    const limit = memoryLimiter(1, { maxKeys: 2, now: clock.now });
    expect(await statuses(limit, ["a", "b", "c", "a"])).toEqual([200, 200, 429, 429]);
    clock.advance(30_000);
    expect(await statuses(limit, ["a", "c"])).toEqual([429, 429]);
    clock.advance(30_000);
    // a's and b's windows (started at t0) have ended: room for c, and a starts a new window.
    expect(await statuses(limit, ["c", "a", "a", "b"])).toEqual([200, 200, 429, 429]);
  });

  it("stays within its key bound under many callers and still serves once their minute is over", async () => {
    const clock = manualClock();
    const limit = memoryLimiter(5, { maxKeys: 100, now: clock.now });
    let admitted = 0;
    for (let i = 0; i < 5_000; i++) if (await limit(`caller-${i}`)) admitted++;
    expect(admitted).toBe(100);
    clock.advance(60_000);
    expect(await statuses(limit, ["late-1", "late-2", "caller-0"])).toEqual([200, 200, 200]);
  });

  it("answers at once, without a promise: the Node server awaits only what is asynchronous", () => {
    const limit = memoryLimiter(1);
    expect(limit("k")).toBe(true);
    expect(limit("k")).toBe(false);
  });

  it("counts windows on the monotonic clock, so a wall-clock jump cannot end a caller's window early", async () => {
    const realNow = Date.now;
    let wall = realNow();
    Date.now = () => wall;
    try {
      const limit = memoryLimiter(1);
      expect(await limit("k")).toBe(true);
      wall += 3_600_000; // the wall clock steps forward an hour (NTP correction, manual change)
      expect(await limit("k")).toBe(false);
    } finally {
      Date.now = realNow;
    }
  });
});

describe("failed sign-in limiter", () => {
  it(`blocks an address after ${AUTH_FAILURES_PER_MINUTE} failures in a minute, and only that address`, () => {
    const clock = manualClock();
    const failures = failureLimiter(AUTH_FAILURES_PER_MINUTE, { now: clock.now });
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
      expect(failures.blocked("198.51.100.1")).toBe(false);
      failures.recordFailure("198.51.100.1");
    }
    expect(failures.blocked("198.51.100.1")).toBe(true);
    expect(failures.blocked("198.51.100.2")).toBe(false);
    clock.advance(60_000);
    expect(failures.blocked("198.51.100.1")).toBe(false);
  });

  it("never blocks an address for other addresses' failures: a full table blocks nobody", () => {
    const clock = manualClock();
    const failures = failureLimiter(3, { maxKeys: 2, now: clock.now });
    failures.recordFailure("a");
    failures.recordFailure("b");
    // Before: the table was full of live counts, so "c" (never seen) was refused.
    expect(failures.blocked("c")).toBe(false);
    failures.recordFailure("c"); // forgets "a", the oldest count
    expect(["a", "b", "c"].map((x) => failures.blocked(x))).toEqual([false, false, false]);
  });

  it("still blocks an address that reaches the limit while the table is flooded", () => {
    const clock = manualClock();
    const failures = failureLimiter(3, { maxKeys: 100, now: clock.now });
    for (let i = 0; i < 10_000; i++) failures.recordFailure(`flood-${i}`);
    for (let i = 0; i < 3; i++) failures.recordFailure("guesser");
    expect(failures.blocked("guesser")).toBe(true);
    // More flooding does not lift the block: blocks are kept apart from counts below the limit.
    for (let i = 0; i < 10_000; i++) failures.recordFailure(`flood-again-${i}`);
    expect(failures.blocked("guesser")).toBe(true);
    expect(failures.blocked("bystander")).toBe(false);
    clock.advance(60_000);
    expect(failures.blocked("guesser")).toBe(false);
  });

  it("forgets the oldest blocks first when more addresses are blocked than it holds, and stays bounded", () => {
    const clock = manualClock();
    const failures = failureLimiter(1, { maxKeys: 3, now: clock.now });
    for (const address of ["a", "b", "c"]) {
      failures.recordFailure(address);
      clock.advance(1);
    }
    expect(["a", "b", "c"].map((x) => failures.blocked(x))).toEqual([true, true, true]);
    failures.recordFailure("d");
    expect(["a", "b", "c", "d"].map((x) => failures.blocked(x))).toEqual([false, true, true, true]);
  });

  it("counts a window from its first failure: failures a minute apart never add up", () => {
    const clock = manualClock();
    const failures = failureLimiter(2, { now: clock.now });
    failures.recordFailure("a");
    clock.advance(60_000);
    failures.recordFailure("a");
    expect(failures.blocked("a")).toBe(false);
    failures.recordFailure("a");
    expect(failures.blocked("a")).toBe(true);
  });
});
