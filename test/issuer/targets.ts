import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { Readable } from "node:stream";
import type { IssuerEnv } from "../../issuer/config";

export const ROOT = path.resolve(__dirname, "..", "..");

/** A running issuer under test: where it listens, what it logged, and how to stop it. */
export interface RunningIssuer {
  baseUrl: string;
  /** The header carrying the client's address to this target: nginx's X-Real-IP, or Cloudflare's own. */
  clientHeader: "x-real-ip" | "cf-connecting-ip";
  logs: () => string;
  stop: () => Promise<void>;
}

export type StartIssuer = (env: IssuerEnv) => Promise<RunningIssuer>;

/** Starts `issuer/node.ts` as its own process, exactly as `npm run issuer` does, on a free loopback port. */
export const startNodeIssuer: StartIssuer = (env) =>
  new Promise((resolve, reject) => {
    let output = "";
    const child: ChildProcess = spawn(process.execPath, ["--require", "esbuild-register", "issuer/node.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: "0", HOST: "127.0.0.1" },
      stdio: "pipe",
    });
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /"event":"listening","host":"127\.0\.0\.1","port":(\d+)/.exec(output);
      if (m) {
        child.stdout?.off("data", onData);
        child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
        resolve({
          baseUrl: `http://127.0.0.1:${m[1]}`,
          clientHeader: "x-real-ip",
          logs: () => output,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.once("exit", (code) =>
      reject(new Error(`the Node issuer exited with ${code} before listening:\n${output}`)),
    );
  });

let workerBundle: string | undefined;

/** Runs the bundled Worker in workerd through miniflare, with a real rate-limit binding. */
export async function startWorkerIssuer(env: IssuerEnv): Promise<RunningIssuer> {
  // Loaded on first use: Miniflare alone takes most of a second of CPU to load, and the suites of
  // the Node server never start a Worker.
  const [{ Miniflare }, { bundleIssuer, WORKER_COMPATIBILITY_DATE }] = await Promise.all([
    import("miniflare"),
    import("../../infra/render/bundle.js"),
  ]);
  workerBundle ??= bundleIssuer("worker");
  let output = "";
  const collect = (stream: Readable) => stream.on("data", (c: Buffer) => (output += c.toString()));
  const mf = new Miniflare({
    // The bundle as its one module, named: from `script` Miniflare would parse it to look for
    // imports (a quarter of a second of the test process's CPU per instance); it has none.
    modules: [{ type: "ESModule", path: path.join(ROOT, "issuer-worker.mjs"), contents: workerBundle }],
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    bindings: env as Record<string, string>,
    ratelimits: {
      RATE_LIMITER: { simple: { limit: Number(env.ISSUER_RATE_LIMIT_PER_MINUTE ?? 60), period: 60 } },
    },
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      collect(stdout);
      collect(stderr);
    },
    host: "127.0.0.1",
    port: 0,
    // Requests go straight to the Worker's own socket in workerd, not through Miniflare's entry worker:
    // that is a local router (a second worker each request passes through, which also fills in
    // CF-Connecting-IP when it is absent), not part of Cloudflare's path, and it took more than half
    // of workerd's CPU in the 10,000-request flood (about 4.5 s against 2). Tests that need a client
    // address send CF-Connecting-IP themselves, as Cloudflare's edge does; without one the Worker
    // keys the request as "unknown".
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  await mf.ready;
  const url = await mf.unsafeGetDirectURL();
  return {
    baseUrl: url.origin,
    clientHeader: "cf-connecting-ip",
    logs: () => output,
    stop: () => mf.dispose(),
  };
}
