/** Answers whether one more request from a caller fits its limit. */
export type RateLimiter = (key: string) => Promise<boolean>;

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

  /** Whether a key without a live window could be given one now. */
  hasRoom(): boolean {
    this.dropExpired();
    return this.byKey.size < this.maxKeys;
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
  return async (key) => (counts.hit(key) ?? Infinity) <= perMinute;
}

/** Counts failed sign-ins per client address; successful ones are never recorded. */
export interface FailureLimiter {
  /** Whether the address has used up its failures this minute (or cannot be tracked: fail closed). */
  blocked(address: string): boolean;
  recordFailure(address: string): void;
}

/**
 * In memory on both runtimes (on Workers, per isolate: a best-effort brake on guessing). Bounded
 * like `memoryLimiter`: while the table is full of live windows, untracked addresses are blocked.
 */
export function failureLimiter(perMinute: number, options: WindowOptions = {}): FailureLimiter {
  const counts = new WindowCounts(options.maxKeys ?? 10_000, options.now ?? monotonicMs);
  return {
    blocked: (address) => {
      const w = counts.live(address);
      return w ? w.count >= perMinute : !counts.hasRoom();
    },
    recordFailure: (address) => void counts.hit(address),
  };
}
