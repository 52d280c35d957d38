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

/**
 * Fixed one-minute windows per caller, in memory, for the Node server. The map is bounded: when
 * full, expired windows go first, then the oldest entries, so many callers cannot exhaust memory.
 */
export function memoryLimiter(
  perMinute: number,
  options: { maxKeys?: number; now?: () => number } = {},
): RateLimiter {
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  return async (key) => {
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= 60_000) {
      windows.delete(key);
      if (windows.size >= maxKeys) {
        for (const [k, v] of windows) if (t - v.start >= 60_000) windows.delete(k);
        for (const k of windows.keys()) {
          if (windows.size < maxKeys) break;
          windows.delete(k);
        }
      }
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    return w.count <= perMinute;
  };
}
