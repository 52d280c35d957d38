import cluster from "node:cluster";
import { configFromEnv, IssuerConfigError } from "./config";
import { createIssuer } from "./handler";
import { batchedLog } from "./log";
import { type NodeSettings, nodeSettingsFromEnv } from "./nodeSettings";
import { memoryLimiter } from "./rateLimit";
import { createNodeServer } from "./server";

/**
 * `npm run issuer`: the token issuer as a Node HTTP server, configured from the environment (see
 * docs/issuer.md). With ISSUER_WORKERS above 1 a primary process forks that many servers under node:cluster;
 * they share the port, and each keeps its own in-memory limits.
 */

const say = (entry: object) => process.stdout.write(`${JSON.stringify(entry)}\n`);

/**
 * Forks the workers and reports one `listening` line once all of them listen. A worker that dies
 * takes the others down, and the primary exits non-zero: whatever supervises it (Docker, systemd)
 * restarts the whole, instead of this process restarting a worker whose fault may repeat.
 */
function runPrimary(settings: NodeSettings): void {
  let listening = 0;
  let stopping = false;
  const stop = (code: number) => {
    stopping = true;
    process.exitCode = code;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  cluster.on("listening", (_worker, address) => {
    if (++listening === settings.workers) {
      say({ event: "listening", host: settings.host, port: address.port, workers: settings.workers });
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      say({ event: "worker_exited", worker: worker.id, code, signal });
      stop(1);
    }
  });
  for (let i = 0; i < settings.workers; i++) cluster.fork();
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
}

/** One server process: alone, or one of the cluster's workers. */
async function runServer(settings: NodeSettings): Promise<void> {
  const config = configFromEnv(process.env);
  const logs = batchedLog(
    (text) => process.stdout.write(text),
    cluster.isWorker ? { worker: cluster.worker!.id } : {},
  );
  const issuer = await createIssuer(config, {
    rateLimiter: memoryLimiter(config.rateLimitPerMinute),
    log: logs.log,
  });
  const server = createNodeServer(issuer, {
    onError: (err) =>
      logs.log({
        event: "request_unreadable",
        error: (err as { code?: string })?.code ?? (err as Error)?.name ?? "error",
      }),
  });
  server.listen(settings.port, settings.host, () => {
    if (cluster.isWorker) return; // the primary reports once for all workers
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : settings.port;
    say({ event: "listening", host: settings.host, port });
  });
  // Pending log lines are written when the process exits: a stop, a crash (an uncaught exception or
  // rejection), or process.exit. Writes to a pipe or a file are synchronous on Linux, so they are out
  // before the process is. A SIGKILL (or the kernel's OOM killer) runs no handler: up to 100 ms of
  // lines are lost then.
  process.on("exit", logs.flush);
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Connections still busy after this long are cut, so a stop never hangs on a slow client.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function main(): Promise<void> {
  const settings = nodeSettingsFromEnv(process.env);
  // Checked in the primary too, so that bad settings stop it at once instead of failing N workers.
  configFromEnv(process.env);
  if (settings.workers > 1 && cluster.isPrimary) return runPrimary(settings);
  return runServer(settings);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof IssuerConfigError ? err.message : `The token issuer could not start: ${String(err)}`,
  );
  process.exit(1);
});
