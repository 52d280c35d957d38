import { Agent, fetch, type RequestInit, type Response, request as undiciRequest } from "undici";

/**
 * HTTP for the issuer suites: each request on a connection of its own, closed after the answer.
 *
 * Why: workerd closes a kept-alive connection after 5 s without a request (Node's server does too).
 * A pooled client that picks that connection for its next request as the server closes it fails with
 * "TypeError: fetch failed" (other side closed, or EPIPE); the request never reached the issuer. The
 * pool's own 4 s idle timer prevents that only while the test process is free to run timers: a
 * loaded two-core machine, a synchronous PyJWT check or a GC pause that holds the event loop across
 * the 5 s mark makes the next request go out on the dead connection. Measured against workerd: a
 * request after the loop was held 4.98 s succeeds, after 5.00 s it fails, every time.
 * test/issuer/worker.test.ts holds the loop of a client thread (stalledClient.ts) for longer than that
 * and expects success.
 */
const freshConnections = new Agent({ pipelining: 0 });

export type CallInit = RequestInit & { path?: string };

export function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, dispatcher: freshConnections });
}

/**
 * The status of a request whose answer is not read, on a fresh connection as `request` uses: undici's
 * request API costs the test process half the CPU of fetch's. Floods of thousands of requests use
 * rawHttp.ts's keptAliveStatuses instead.
 */
export async function statusOf(
  url: string,
  init: { method: "POST"; headers: Record<string, string>; body: string },
): Promise<number> {
  const res = await undiciRequest(url, { ...init, dispatcher: freshConnections });
  await res.body.dump();
  return res.statusCode;
}

/** Runs `task` over `items` with at most `concurrency` at a time, in order of items. */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
