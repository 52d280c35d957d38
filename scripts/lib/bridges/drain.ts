import type { BridgeApi, BridgeStats } from "./bridgeApi";

/** How a drain ended: the bridge emptied, or the bounded wait ran out with people still on it. */
export type DrainResult =
  { outcome: "empty"; waitedMs: number } | { outcome: "timeout"; waitedMs: number; last?: BridgeStats };

export interface DrainOptions {
  timeoutMs: number;
  pollMs: number;
  /** Progress lines for the operator. */
  log?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const minutes = (ms: number) => `${Math.round(ms / 6000) / 10} min`;

/**
 * Drains a bridge before it is deleted: jicofo stops sending it new meetings (POST /colibri/drain/enable),
 * then this waits until its participants reach zero, or until `timeoutMs` has passed. It never answers
 * earlier: a busy bridge is not given up before the wait is over. When the drain cannot even be switched
 * on (SSH or the API down), it throws, and the deletion waits for the operator.
 */
export async function drainBridge(api: BridgeApi, options: DrainOptions): Promise<DrainResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = options.log ?? (() => undefined);
  const start = now();
  await api.enableDrain();
  let last: BridgeStats | undefined;
  for (;;) {
    const waitedMs = now() - start;
    try {
      last = await api.stats();
      if (last.participants === 0) return { outcome: "empty", waitedMs };
    } catch (error) {
      // A moment's trouble reading the stats is no reason to stop waiting, nor to call the bridge empty.
      log(`could not read the bridge's load (${(error as Error).message}); trying again`);
    }
    if (waitedMs >= options.timeoutMs) return { outcome: "timeout", waitedMs, ...(last ? { last } : {}) };
    if (last) {
      log(
        `${last.participants} participants in ${last.conferences} meetings; waiting, at most ${minutes(options.timeoutMs - waitedMs)} more`,
      );
    }
    await sleep(Math.min(options.pollMs, Math.max(0, options.timeoutMs - waitedMs)));
  }
}

/** The sentence the operator reads once the drain is over. */
export function drainReport(bridge: string, result: DrainResult): string {
  if (result.outcome === "empty") {
    return `${bridge}: drained, no participants left after ${minutes(result.waitedMs)}; deleting it.`;
  }
  const left = result.last
    ? `${result.last.participants} participants in ${result.last.conferences} meetings were still on it`
    : "its load could not be read";
  return `${bridge}: the drain wait of ${minutes(result.waitedMs)} ran out and ${left}; deleting it anyway (jitsi:bridgeDrainMinutes bounds the wait).`;
}
