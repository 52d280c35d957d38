import { execFile } from "node:child_process";
import path from "node:path";

/** wrk's load script (bench/wrk-post.lua): the body, the keys in turn, one JSON line at the end. */
export const WRK_SCRIPT = path.resolve(__dirname, "..", "..", "..", "bench", "wrk-post.lua");

/** The JSON line bench/wrk-post.lua prints when wrk is done. */
export interface WrkSummary {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  errors: number;
}

export interface WrkLoad {
  /** The URL to POST to, like http://127.0.0.1:8080/v1/token. */
  url: string;
  connections: number;
  seconds: number;
  /** API keys, one per request in turn. */
  keys: readonly string[];
  body: string;
  /** With it, each connection waits a random 0 to 2 x pauseMs after every answer (paced load). */
  pauseMs?: number;
  /** A `taskset --cpu-list` value that wrk runs on (BENCH_PIN). */
  cpuList?: string;
}

/**
 * Debian's wrk (one thread) with bench/wrk-post.lua: the load of `npm run bench:issuer`, and of the
 * test that checks its script against the issuer. Resolves with the script's summary line; rejects,
 * with wrk's stderr, when wrk fails or prints none.
 */
export function runWrk(load: WrkLoad): Promise<WrkSummary> {
  const args = [
    "-t1",
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    WRK_SCRIPT,
    load.url,
  ];
  const [cmd, cmdArgs] =
    load.cpuList === undefined ? ["wrk", args] : ["taskset", ["--cpu-list", load.cpuList, "wrk", ...args]];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      cmdArgs,
      {
        env: {
          PATH: process.env.PATH,
          BENCH_KEYS: load.keys.join(","),
          BENCH_BODY: load.body,
          ...(load.pauseMs === undefined ? {} : { BENCH_PAUSE_MS: String(load.pauseMs) }),
        },
      },
      (err, stdout, stderr) => {
        const line = stdout.trim().split("\n").at(-1) ?? "";
        if (err || !line.startsWith("{")) {
          return reject(new Error(`wrk failed against ${load.url}: ${err?.message ?? ""} ${stderr.trim()}`));
        }
        resolve(JSON.parse(line) as WrkSummary);
      },
    );
  });
}
