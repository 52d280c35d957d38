import autocannon from "autocannon";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { bundleIssuer, WORKER_COMPATIBILITY_DATE } from "../infra/render/bundle";

/**
 * `npm run bench:issuer`: the Node issuer against the Flask + PyJWT baseline on loopback, plus the
 * Worker bundle's size and workerd's cold start. Prints numbers; it asserts nothing.
 * Targets: >= 5x baseline tokens/s with p99 < 10 ms; Worker bundle < 30 KB gzipped.
 */

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const ROOT = path.resolve(__dirname, "..");
const secret = randomBytes(32).toString("hex");
// One key per connection: the issuer limits each caller to 10000/min, so every connection is its own caller.
const keys = Array.from({ length: CONNECTIONS }, () => randomBytes(32).toString("hex"));
const env = {
  PATH: process.env.PATH,
  JWT_APP_ID: "jitsi-stack",
  JWT_APP_SECRET: secret,
  JITSI_DOMAIN: "meet.example.com",
  ISSUER_API_KEYS: keys.join(","),
  ISSUER_RATE_LIMIT_PER_MINUTE: "10000",
  HOST: "127.0.0.1",
};
const BODY = JSON.stringify({ room: "bench-room", user: { name: "Bench" }, ttlSeconds: 600 });

function start(
  cmd: string,
  args: string[],
  port: number,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(cmd, args, { env: { ...env, ...extraEnv, PORT: String(port) }, stdio: "ignore" });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const poll = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${keys[0]}`, "content-type": "application/json" },
          body: BODY,
        });
        if (res.status === 200) return resolve(child);
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline || child.exitCode !== null) return reject(new Error(`${cmd} did not start`));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(port: number, seconds: number): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/token`,
    connections: CONNECTIONS,
    duration: seconds,
    method: "POST",
    body: BODY,
    headers: { "content-type": "application/json" },
    setupClient: (client) =>
      client.setHeaders({
        "content-type": "application/json",
        authorization: `Bearer ${keys[next++ % keys.length]}`,
      }),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function bench(name: string, port: number, child: ChildProcess): Promise<Load> {
  try {
    await load(port, 2); // warm-up: JIT, connection set-up
    const r = await load(port, DURATION_S);
    console.log(
      `${name.padEnd(24)} ${r.rps.toFixed(0).padStart(7)} tokens/s   p50 ${r.p50.toFixed(1).padStart(5)} ms   p99 ${r.p99.toFixed(1).padStart(5)} ms   non-2xx ${r.non2xx}   errors ${r.errors}`,
    );
    return r;
  } finally {
    child.kill("SIGTERM");
  }
}

async function workerColdStart(
  bundle: string,
): Promise<{ readyMs: number; firstMs: number; warmMs: number }> {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    script: bundle,
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
    warm.sort((a, b) => a - b);
    return { readyMs, firstMs, warmMs: warm[Math.floor(warm.length / 2)]! };
  } finally {
    await mf.dispose();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-issuer-"));
  try {
    const nodeBundle = path.join(dir, "issuer.mjs");
    writeFileSync(nodeBundle, bundleIssuer("node"));
    // The bundle imports jose, as on the VM: here it finds our own installed copy.
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    console.log(`Token issuer benchmark: ${CONNECTIONS} connections, ${DURATION_S} s each, loopback\n`);
    const node = await bench(
      "Node issuer (bundle)",
      18731,
      await start(process.execPath, ["--max-semi-space-size=32", nodeBundle], 18731),
    );
    const flask = await bench(
      "Flask + PyJWT baseline",
      18732,
      await start("/usr/bin/python3", [path.join(ROOT, "bench", "flask_baseline.py")], 18732),
    );
    const ratio = node.rps / flask.rps;
    console.log(`\nthroughput ratio         ${ratio.toFixed(1)}x   (target >= 5x)`);
    console.log(`Node p99                 ${node.p99.toFixed(1)} ms   (target < 10 ms)`);

    const worker = bundleIssuer("worker");
    const raw = Buffer.byteLength(worker);
    const gz = gzipSync(worker, { level: 9 }).length;
    console.log(
      `\nWorker bundle            ${(raw / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzipped   (target < 30 KB gzipped)`,
    );
    const cold = await workerColdStart(worker);
    console.log(
      `workerd cold start       ${cold.readyMs.toFixed(0)} ms to ready (process + isolate), first request ${cold.firstMs.toFixed(1)} ms (key import), warm request p50 ${cold.warmMs.toFixed(2)} ms`,
    );
    console.log(
      JSON.stringify({
        node,
        flask,
        ratio: Number(ratio.toFixed(2)),
        workerBundle: { rawBytes: raw, gzipBytes: gz },
        workerd: {
          readyMs: Math.round(cold.readyMs),
          firstRequestMs: Number(cold.firstMs.toFixed(1)),
          warmP50Ms: Number(cold.warmMs.toFixed(2)),
        },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:issuer failed: ${(err as Error).message}`);
  process.exit(1);
});
