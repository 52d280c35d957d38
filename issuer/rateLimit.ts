/**
 * Answers whether one more request from a caller fits its limit: the in-memory limiter at once, the
 * Worker's binding with a promise (it asks Cloudflare).
 */
export type RateLimiter = (key: string) => boolean | Promise<boolean>;

/** The Worker's rate-limit binding (Cloudflare's `ratelimit` binding type). */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export const bindingLimiter =
  (binding: RateLimitBinding): RateLimiter =>
  async (key) =>
    (await binding.limit({ key })).success;

const WINDOW_MS = 60_000;
/** Failed sign-ins one client address may make per minute before all its requests get 429. */
export const AUTH_FAILURES_PER_MINUTE = 30;

export interface WindowOptions {
  /** Most keys tracked at once; default 10 000. */
  maxKeys?: number;
  /** Milliseconds on a monotonic clock; tests pin it. */
  now?: () => number;
}

interface Window {
  key: string;
  start: number;
  count: number;
}

/**
 * Fixed one-minute windows per key, bounded to `maxKeys`. Windows sit in a queue in order of start
 * (the clock is monotonic), so expired ones are dropped from its front: O(1) amortised per call.
 * A live window is never dropped to make room: when the table is full, a new key is not stored.
 */
class WindowCounts {
  private readonly byKey = new Map<string, Window>();
  private queue: Window[] = [];
  private head = 0;

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** The key's live window, if it has one. */
  live(key: string): Window | undefined {
    this.dropExpired();
    return this.byKey.get(key);
  }

  /** Counts one hit; the new count, or undefined when the key has no window and the table is full. */
  hit(key: string): number | undefined {
    let w = this.live(key);
    if (!w) {
      if (this.byKey.size >= this.maxKeys) return undefined;
      w = { key, start: this.now(), count: 0 };
      this.byKey.set(key, w);
      this.queue.push(w);
    }
    return ++w.count;
  }

  private dropExpired(): void {
    const t = this.now();
    while (this.head < this.queue.length && t - this.queue[this.head]!.start >= WINDOW_MS) {
      const w = this.queue[this.head++]!;
      if (this.byKey.get(w.key) === w) this.byKey.delete(w.key);
    }
    // Compact once the dropped prefix is most of the array, so it stays O(live windows) in size.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

const monotonicMs = () => performance.now();

/**
 * Per-caller request limit for the Node server, in memory. When every slot holds a live window, a
 * new caller is refused (fail closed) rather than resetting someone else's count.
 */
export function memoryLimiter(perMinute: number, options: WindowOptions = {}): RateLimiter {
  const counts = new WindowCounts(options.maxKeys ?? 10_000, options.now ?? monotonicMs);
  return (key) => (counts.hit(key) ?? Infinity) <= perMinute;
}

/** Counts failed sign-ins per client address; successful ones are never recorded. */
export interface FailureLimiter {
  /** Whether the address has used up its failed sign-ins in its current minute. */
  blocked(address: string): boolean;
  recordFailure(address: string): void;
}

/**
 * Failed sign-ins per client address (IPv4 address or IPv6 /64, issuer/address.ts), in memory on
 * both runtimes (on Workers, per isolate: a best-effort brake on guessing).
 *
 * What it guarantees:
 * - An address is refused only for its own failures: after `perMinute` failed sign-ins in its
 *   one-minute window it gets 429 until that window ends, good credentials included (so a guesser
 *   learns nothing). No other address's failures, and no number of them, ever block it: the table
 *   being full blocks nobody.
 * - Memory stays bounded: at most `maxKeys` addresses still counting, plus at most `maxKeys` blocked.
 *   When more addresses than that fail within a minute, the oldest entries are forgotten first:
 *   counts below the limit before blocks, since a block is evidence and a count of a few is not.
 *
 * What it does not do: stop a guesser who owns more addresses than the table holds. Such an attacker
 * can make about `perMinute` guesses per address per minute either way, and API keys of 32 random
 * characters or more are far out of reach at that rate. Blocking whole networks (a /48, a /32)
 * under pressure was rejected: it would lock out every other customer of the attacker's hosting
 * provider, which is the denial of service this design exists to prevent.
 */
export function failureLimiter(perMinute: number, options: WindowOptions = {}): FailureLimiter {
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? monotonicMs;
  // Maps iterate in insertion order: `counting` in the order windows started, `blockedUntil` in the
  // order blocks began (close to the order they end; a late expired entry only waits to be swept).
  const counting = new Map<string, { start: number; count: number }>();
  const blockedUntil = new Map<string, number>();

  const dropOldest = (map: Map<string, unknown>) => map.delete(map.keys().next().value!);
  const sweep = (t: number) => {
    for (const [key, w] of counting) {
      if (t - w.start < WINDOW_MS) break;
      counting.delete(key);
    }
    for (const [key, until] of blockedUntil) {
      if (t < until) break;
      blockedUntil.delete(key);
    }
  };

  return {
    blocked: (address) => {
      const until = blockedUntil.get(address);
      return until !== undefined && now() < until;
    },
    recordFailure: (address) => {
      const t = now();
      sweep(t);
      let w = counting.get(address);
      if (w && t - w.start >= WINDOW_MS) {
        counting.delete(address);
        w = undefined;
      }
      if (!w) {
        if (counting.size >= maxKeys) dropOldest(counting);
        w = { start: t, count: 0 };
        counting.set(address, w);
      }
      if (++w.count < perMinute) return;
      counting.delete(address);
      blockedUntil.delete(address);
      if (blockedUntil.size >= maxKeys) dropOldest(blockedUntil);
      blockedUntil.set(address, w.start + WINDOW_MS);
    },
  };
}
