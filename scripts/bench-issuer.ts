import { buildSync } from "esbuild";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { bundleIssuer, WORKER_COMPATIBILITY_DATE } from "../infra/render/bundle";
import { runWrk, type WrkSummary } from "./lib/bench/wrk";
import { EXIT, wholeNumber } from "./lib/shared/cli";

/**
 * `npm run bench:issuer`: the Node issuer beside three peers, in one run, on loopback, with the same
 * load generator (wrk, Debian's, one thread) and the same 50 connections for each:
 *   (a) node:http answering a fixed body: what Node's HTTP layer can do here (the ceiling);
 *   (b) node:http that only signs the same claims with jose (the signing ceiling);
 *   (c) the issuer, as the VM runs it (the esbuild bundle), one process and one per core;
 *   (d) the seed's Flask + PyJWT code under gunicorn, 2 workers x 8 threads (gthread).
 * Targets are rounds interleaved so that a change in the machine's load hits every target alike;
 * each figure is the median over the rounds. It prints numbers and asserts nothing. Beside tokens/s
 * it prints the server's CPU time per token (from /proc), which other work on the machine moves far
 * less than throughput.
 * Each target is measured twice: saturated, where each connection sends its next request as soon as
 * its answer comes (throughput), and paced, where it waits a random 0 to 40 ms first (latency). At
 * saturation a request waits behind the other 49: the mean latency is 50 / throughput whatever the
 * server does, so the latency target is read from the paced phase. The generator is wrk, not one in
 * Node (autocannon was used before): on two cores the generator's CPU is taken from the servers, and
 * wrk needs about 30 us a request where autocannon needed several times that.
 * Then the Worker bundle's size and workerd's cold start.
 *
 * BENCH_PIN=1 puts the load generator on the last core and every server on the others (taskset),
 * so that they do not take turns on one core; the workers target then runs one per server core.
 */

/** A whole number from 1 to 999999 from the environment, or its default; anything else stops the bench. */
function setting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const n = wholeNumber(text, 1, 999_999);
  if (n === undefined) {
    console.error(`bench:issuer: ${name} must be a whole number from 1 to 999999 (got '${text}')`);
    process.exit(EXIT.usage);
  }
  return n;
}

const CONNECTIONS = 50;
const SECONDS = setting("BENCH_SECONDS", 5);
const ROUNDS = setting("BENCH_ROUNDS", 3);
const WARMUP_SECONDS = 2;
/**
 * The paced phase's mean wait between an answer and a connection's next request (bench/wrk-post.lua):
 * with 50 connections about 2,400 tokens/s, under half of what one issuer process mints here, and
 * far more than a meeting VM's joins ask for. Latency is measured there; at saturation it is
 * 50 / tokens/s whatever the server does.
 */
const PAUSE_MS = setting("BENCH_PAUSE_MS", 20);
const ROOT = path.resolve(__dirname, "..");
const CORES = availableParallelism();
const PIN = process.env.BENCH_PIN === "1" && CORES >= 2;
/** With BENCH_PIN=1: the generator (this process) on the last core, the servers on the others. */
const SERVER_CORES = PIN ? CORES - 1 : CORES;
const serverCpuList = `0-${SERVER_CORES - 1}`;
const secret = randomBytes(32).toString("hex");
// One key per connection: the issuer limits each caller to at most 10,000 tokens a minute.
const keys = Array.from({ length: CONNECTIONS }, () => randomBytes(32).toString("hex"));
const env = {
  PATH: process.env.PATH,
  JWT_APP_ID: "jitsi-stack",
  JWT_APP_SECRET: secret,
  JITSI_DOMAIN: "meet.example.com",
  ISSUER_API_KEYS: keys.join(","),
  ISSUER_RATE_LIMIT_PER_MINUTE: "10000",
  HOST: "127.0.0.1",
  // gunicorn imports bench/flask_baseline.py: no __pycache__ left in the source tree.
  PYTHONDONTWRITEBYTECODE: "1",
};
const BODY = JSON.stringify({ room: "bench-room", user: { name: "Bench" }, ttlSeconds: 600 });

type Command = [string, string[], Record<string, string>?];

/** A Node peer, with the VM container's flag (infra/render/issuerHost.ts) for every one of them. */
const node = (dir: string, file: string, extra?: Record<string, string>): Command => [
  process.execPath,
  ["--max-semi-space-size=32", path.join(dir, file)],
  extra,
];

interface Target {
  name: string;
  port: number;
  command: (dir: string) => Command;
}

const TARGETS: Target[] = [
  { name: "(a) node:http, fixed answer", port: 18731, command: (d) => node(d, "ceiling.mjs") },
  { name: "(b) jose signing only", port: 18732, command: (d) => node(d, "jose-only.mjs") },
  { name: "(c) issuer", port: 18733, command: (d) => node(d, "issuer.mjs") },
  {
    name: `(c) issuer, ${SERVER_CORES} workers`,
    port: 18734,
    command: (d) => node(d, "issuer.mjs", { ISSUER_WORKERS: String(SERVER_CORES) }),
  },
  {
    name: "(d) gunicorn 2x8 + PyJWT",
    port: 18735,
    command: () => [
      "/usr/bin/gunicorn",
      [
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--chdir",
        path.join(ROOT, "bench"),
        "--bind",
        "127.0.0.1:18735",
        "--log-level",
        "warning",
        "flask_baseline:app",
      ],
    ],
  },
];

/** Bundles a Node entry point the way the VM's issuer is built (infra/render/bundle.ts). */
function bundle(entry: string): string {
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    minify: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

function start(target: Target, dir: string): Promise<ChildProcess> {
  const [command, commandArgs, extra] = target.command(dir);
  const [cmd, args] = PIN
    ? ["taskset", ["--cpu-list", serverCpuList, command, ...commandArgs]]
    : [command, commandArgs];
  // Every peer's standard output goes down a pipe into a file, as the VM's Docker keeps container
  // logs (json-file): the issuer's per-request log lines cost there what they cost in production.
  const child = spawn(cmd, args, {
    env: { ...env, ...extra, PORT: String(target.port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout!.pipe(createWriteStream(path.join(dir, `${target.port}.log`)));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const poll = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${target.port}/v1/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${keys[0]}`, "content-type": "application/json" },
          body: BODY,
        });
        const answer = (await res.json()) as { token?: string };
        if (res.status === 200 && answer.token) return resolve(child);
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline || child.exitCode !== null)
        return reject(new Error(`${target.name} did not start`));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

interface Load {
  rps: number;
  /** CPU time the server (all its processes and threads) spent per answer, in microseconds. */
  cpuUs: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** A target's medians over the rounds, and its tokens/s in each round, in order. */
interface Summary extends Load {
  roundsRps: number[];
}

/** Clock ticks per second of /proc's CPU times. */
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

/**
 * CPU time (user + system, every thread) of a process and of its children (cluster or gunicorn
 * workers), in ms, from /proc. Unlike tokens/s it hardly moves when other work shares the cores.
 */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const own = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
  return children.reduce((sum, child) => sum + cpuMs(Number(child)), own);
}

/**
 * wrk against a target for `seconds`. wrk is C with one thread for all 50 connections: it costs the
 * servers under test about 30 us of CPU a request, a fraction of what a generator in Node takes from
 * the same two cores.
 */
const wrk = (port: number, seconds: number, pauseMs?: number): Promise<WrkSummary> =>
  runWrk({
    url: `http://127.0.0.1:${port}/v1/token`,
    connections: CONNECTIONS,
    seconds,
    keys,
    body: BODY,
    pauseMs,
    cpuList: PIN ? String(CORES - 1) : undefined,
  });

async function load(port: number, seconds: number, pid?: number, pauseMs?: number): Promise<Load> {
  const cpuBefore = pid === undefined ? 0 : cpuMs(pid);
  const result = await wrk(port, seconds, pauseMs);
  return {
    rps: result.requests / (result.durationUs / 1e6),
    cpuUs: pid === undefined ? NaN : ((cpuMs(pid) - cpuBefore) * 1000) / result.requests,
    p50: result.p50Us / 1000,
    p99: result.p99Us / 1000,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function workerColdStart(
  bundleText: string,
): Promise<{ readyMs: number; firstMs: number; warmMs: number }> {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    script: bundleText,
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    bindings: { ...env, PATH: "" },
    ratelimits: { RATE_LIMITER: { simple: { limit: 10000, period: 60 } } },
    // The Worker's per-request log lines would drown the numbers.
    handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
      stdout.resume();
      stderr.resume();
    },
  });
  try {
    await mf.ready;
    const readyMs = performance.now() - t0;
    const ask = async () => {
      const t = performance.now();
      const res = await mf.dispatchFetch("http://issuer/v1/token", {
        method: "POST",
        headers: { authorization: `Bearer ${keys[0]}`, "content-type": "application/json" },
        body: BODY,
      });
      await res.text();
      if (res.status !== 200) throw new Error(`worker answered ${res.status}`);
      return performance.now() - t;
    };
    const firstMs = await ask();
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) warm.push(await ask());
    return { readyMs, firstMs, warmMs: median(warm) };
  } finally {
    await mf.dispose();
  }
}

const load3 = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-issuer-"));
  const children: ChildProcess[] = [];
  if (PIN) {
    // This process only starts the targets and wrk, which gets the last core of its own (see wrk()).
    execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", String(CORES - 1), String(process.pid)], {
      stdio: "ignore",
    });
  }
  try {
    writeFileSync(path.join(dir, "issuer.mjs"), bundleIssuer("node"));
    // The node bundle imports jose, as on the VM: here it finds our own installed copy.
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    writeFileSync(path.join(dir, "ceiling.mjs"), bundle("bench/ceiling.ts"));
    writeFileSync(path.join(dir, "jose-only.mjs"), bundle("bench/jose-only.ts"));
    console.log(`Token issuer benchmark, ${new Date().toISOString()}`);
    console.log(
      `${CORES} cores (${cpus()[0]?.model.trim()}), Node ${process.version}; load average before: ${load3()} (1, 5, 15 min)`,
    );
    console.log(
      `wrk (one thread), ${CONNECTIONS} connections, POST /v1/token; ${ROUNDS} rounds of ${SECONDS} s per target, interleaved, after ${WARMUP_SECONDS} s of warm-up; medians`,
    );
    console.log(
      PIN
        ? `Pinned (BENCH_PIN=1): the generator on core ${CORES - 1}, every server on cores ${serverCpuList}\n`
        : "Not pinned: the generator and the servers share every core (BENCH_PIN=1 separates them)\n",
    );
    for (const target of TARGETS) children.push(await start(target, dir));
    for (const target of TARGETS) await load(target.port, WARMUP_SECONDS);
    /** Every target's median over ROUNDS interleaved rounds, saturated or paced; printed as a table. */
    const measure = async (pauseMs?: number): Promise<Map<Target, Summary>> => {
      const runs = new Map<Target, Load[]>(TARGETS.map((t) => [t, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, target] of TARGETS.entries()) {
          runs.get(target)!.push(await load(target.port, SECONDS, children[i]!.pid, pauseMs));
        }
      }
      const result = new Map<Target, Summary>();
      for (const [target, loads] of runs) {
        result.set(target, {
          rps: median(loads.map((l) => l.rps)),
          cpuUs: median(loads.map((l) => l.cpuUs)),
          p50: median(loads.map((l) => l.p50)),
          p99: median(loads.map((l) => l.p99)),
          non2xx: loads.reduce((n, l) => n + l.non2xx, 0),
          errors: loads.reduce((n, l) => n + l.errors, 0),
          roundsRps: loads.map((l) => l.rps),
        });
      }
      console.log(
        `${"".padEnd(30)} ${"tokens/s".padStart(9)} ${"p50".padStart(7)} ${"p99".padStart(7)}  4xx/5xx  errors  CPU us/token`,
      );
      for (const [target, r] of result) {
        console.log(
          `${target.name.padEnd(30)} ${r.rps.toFixed(0).padStart(9)} ${`${r.p50.toFixed(1)} ms`.padStart(7)} ${`${r.p99.toFixed(1)} ms`.padStart(7)}  ${String(r.non2xx).padStart(7)}  ${String(r.errors).padStart(6)}  ${r.cpuUs.toFixed(0).padStart(12)}`,
        );
      }
      return result;
    };
    console.log("Saturated: each connection sends its next request as soon as its answer arrives");
    const result = await measure();
    console.log(
      `\nPaced: after each answer a connection waits 0 to ${2 * PAUSE_MS} ms (${PAUSE_MS} ms on average) before its next request`,
    );
    const paced = await measure(PAUSE_MS);
    const [ceiling, jose, issuer, workers, gunicorn] = TARGETS.map((t) => result.get(t)!);
    /**
     * The ratio of the medians, then the same ratio in each round (a round loads every target once,
     * one after another): the spread tells whether a verdict would hold in another run here.
     */
    const ratio = (a: Summary, b: Summary, target?: number) => {
      const r = a.rps / b.rps;
      const perRound = a.roundsRps.map((rps, i) => rps / b.roundsRps[i]!);
      const spread =
        ROUNDS > 1 ? `, rounds ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}x` : "";
      const verdict =
        target === undefined
          ? ""
          : `   (target >= ${target}x: ${r >= target ? "met" : "NOT met"}; met in ${perRound.filter((x) => x >= target).length} of ${ROUNDS} rounds)`;
      return `${r.toFixed(2)}x${spread}${verdict}`;
    };
    console.log("\nRatios of tokens/s (targets are printed, not asserted)");
    console.log(`  issuer / jose signing only      ${ratio(issuer!, jose!, 0.8)}`);
    console.log(
      `  CPU per token, issuer - jose    ${(issuer!.cpuUs - jose!.cpuUs).toFixed(0)} us (${issuer!.cpuUs.toFixed(0)} - ${jose!.cpuUs.toFixed(0)}: what the issuer adds to signing)`,
    );
    console.log(`  issuer / gunicorn               ${ratio(issuer!, gunicorn!, 2)}`);
    console.log(`  issuer, ${SERVER_CORES} workers / gunicorn    ${ratio(workers!, gunicorn!, 2)}`);
    console.log(`  issuer / node:http ceiling      ${ratio(issuer!, ceiling!)}`);
    console.log(`  jose only / node:http ceiling   ${ratio(jose!, ceiling!)}`);
    console.log(
      `  issuer p99, saturated           ${issuer!.p99.toFixed(1)} ms (mean at least ${((CONNECTIONS / issuer!.rps) * 1000).toFixed(1)} ms = ${CONNECTIONS} connections / tokens/s)`,
    );
    const [, , pacedIssuer] = TARGETS.map((t) => paced.get(t)!);
    console.log(
      `  issuer p99, paced               ${pacedIssuer!.p99.toFixed(1)} ms at ${pacedIssuer!.rps.toFixed(0)} tokens/s   (target < 10 ms: ${pacedIssuer!.p99 < 10 ? "met" : "NOT met"})`,
    );

    console.log(`load average after: ${load3()}`);

    const worker = bundleIssuer("worker");
    const gz = gzipSync(worker).length;
    console.log(
      `\nWorker bundle            ${Buffer.byteLength(worker)} bytes raw, ${gz} bytes gzipped (budget 15,000 bytes, held by test/issuer/bundle.test.ts)`,
    );
    const cold = await workerColdStart(worker);
    console.log(
      `workerd cold start       ${cold.readyMs.toFixed(0)} ms to ready (process + isolate), first request ${cold.firstMs.toFixed(1)} ms (key import), warm request p50 ${cold.warmMs.toFixed(2)} ms`,
    );
    console.log(
      JSON.stringify({
        date: new Date().toISOString(),
        loadavg: loadavg(),
        pinned: PIN,
        results: Object.fromEntries([...result].map(([t, r]) => [t.name, r])),
        paced: { pauseMs: PAUSE_MS, results: Object.fromEntries([...paced].map(([t, r]) => [t.name, r])) },
        workerBundle: { rawBytes: Buffer.byteLength(worker), gzipBytes: gz },
        workerd: cold,
      }),
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:issuer failed: ${(err as Error).message}`);
  process.exit(1);
});
