import { parentPort, workerData } from "node:worker_threads";
import { request } from "./client";

/**
 * Run in a worker thread by worker.test.ts: asks `workerData.baseUrl` for /healthz with the suites'
 * client (client.ts, this thread's own copy), holds this thread's event loop for `workerData.stallMs`
 * as a loaded machine or a synchronous check holds the test process, and asks again. A pooled
 * client's second request would go out on the connection workerd closed meanwhile. Posts both
 * statuses, or the error.
 */
const { baseUrl, stallMs } = workerData as { baseUrl: string; stallMs: number };

const ask = async () => {
  const res = await request(`${baseUrl}/healthz`);
  await res.text(); // a pooled client reuses a connection only once its answer was read
  return res.status;
};

(async () => {
  const before = await ask();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);
  parentPort!.postMessage({ statuses: [before, await ask()] });
})().catch((err: Error) => parentPort!.postMessage({ error: `${err.stack}\ncause: ${String(err.cause)}` }));
