import { availableParallelism } from "node:os";
import { IssuerConfigError, type IssuerEnv } from "./config";

/** Settings only the Node server reads (the Worker has no port, address or processes to choose). */
export interface NodeSettings {
  port: number;
  host: string;
  /** Server processes; more than one runs them under node:cluster, sharing the port. */
  workers: number;
}

export const MAX_WORKERS = 64;

/** PORT, HOST and ISSUER_WORKERS, with every problem reported at once. */
export function nodeSettingsFromEnv(env: IssuerEnv, cores = availableParallelism()): NodeSettings {
  const problems: string[] = [];
  const rawPort = env.PORT?.trim() || "8080";
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    problems.push(`PORT must be a port number from 0 to 65535 (got '${env.PORT}')`);
  }
  const rawWorkers = env.ISSUER_WORKERS?.trim() || "1";
  const workers = rawWorkers === "auto" ? Math.min(cores, MAX_WORKERS) : Number(rawWorkers);
  if (rawWorkers !== "auto" && (!/^\d+$/.test(rawWorkers) || workers < 1 || workers > MAX_WORKERS)) {
    problems.push(
      `ISSUER_WORKERS must be a number of processes from 1 to ${MAX_WORKERS}, or auto for one per core (got '${env.ISSUER_WORKERS}')`,
    );
  }
  if (problems.length > 0) throw new IssuerConfigError(problems);
  return { port, host: env.HOST?.trim() || "127.0.0.1", workers };
}
