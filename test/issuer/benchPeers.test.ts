import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { request } from "./client";
import { checkWithPyJwt } from "./pyjwt";
import { runWrk } from "../../scripts/lib/bench/wrk";
import { runCommand } from "../helpers/command";
import { waitFor } from "./behaviour";
import { ROOT, startNodeIssuer } from "./targets";

/**
 * The peers `npm run bench:issuer` measures the issuer against must do the same work: the same
 * claims, signed so that Prosody accepts them. Otherwise its ratios compare unlike things.
 */

const secret = randomBytes(32).toString("hex");
const key = randomBytes(32).toString("hex");
const env = {
  PATH: process.env.PATH,
  JWT_APP_ID: "jitsi-stack",
  JWT_APP_SECRET: secret,
  JITSI_DOMAIN: "meet.example.com",
  ISSUER_API_KEYS: key,
  PYTHONDONTWRITEBYTECODE: "1", // gunicorn imports bench/flask_baseline.py: no __pycache__ in the tree
};
const dir = mkdtempSync(path.join(tmpdir(), "bench-peers-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a peer on a free port and resolves with the port, read from what it prints. */
function startPeer(
  cmd: string,
  args: string[],
  extraEnv: Record<string, string>,
  port: RegExp,
): Promise<number> {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const m = port.exec(output);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", (code) => reject(new Error(`${cmd} exited with ${code}: ${output}`)));
  });
}

async function mint(port: number) {
  const res = await request(`http://127.0.0.1:${port}/v1/token`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ room: "Bench-Room", user: { name: "Bench" }, ttlSeconds: 600 }),
  });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  const checked = await checkWithPyJwt("jitsi-stack", secret, token);
  expect(checked.reason).toBe("");
  const { iat, nbf, exp, ...rest } = checked.claims!;
  return { rest, times: [(iat as number) - (nbf as number), (exp as number) - (iat as number)] };
}

const expected = {
  rest: {
    iss: "jitsi-stack",
    aud: "jitsi-stack",
    sub: "meet.jitsi",
    room: "bench-room",
    context: { user: { name: "Bench", moderator: false, affiliation: "member" } },
  },
  times: [30, 600],
};

describe("npm run bench:issuer's settings", () => {
  it("refuses a bad BENCH_* number at once, naming the variable, before it starts any server", async () => {
    const cases = [
      ["BENCH_PAUSE_MS", "abc"],
      ["BENCH_ROUNDS", "0"],
      ["BENCH_SECONDS", "2.5"],
    ] as const;
    const runs = await Promise.all(
      cases.map(([name, value]) =>
        runCommand(process.execPath, ["--require", "esbuild-register", "scripts/bench-issuer.ts"], {
          cwd: ROOT,
          env: { PATH: process.env.PATH, [name]: value },
        }),
      ),
    );
    for (const [i, [name, value]] of cases.entries()) {
      expect(runs[i]).toMatchObject({
        status: 2,
        stdout: "",
        stderr: `bench:issuer: ${name} must be a whole number from 1 to 999999 (got '${value}')\n`,
      });
    }
  });
});

describe("benchmark peers", () => {
  it("the jose-only server mints the issuer's claims, as Prosody accepts them", async () => {
    const bundle = buildSync({
      absWorkingDir: ROOT,
      entryPoints: ["bench/jose-only.ts"],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      logLevel: "silent",
    });
    writeFileSync(path.join(dir, "jose-only.mjs"), bundle.outputFiles[0]!.text);
    const port = await startPeer(process.execPath, [path.join(dir, "jose-only.mjs")], {}, /"port":(\d+)/);
    expect(await mint(port)).toEqual(expected);
  });

  it("the seed's Flask + PyJWT code runs under gunicorn with threads and mints the same claims", async () => {
    const port = await startPeer(
      "/usr/bin/gunicorn",
      [
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "2",
        "--chdir",
        "bench",
        "--bind",
        "127.0.0.1:0",
        "flask_baseline:app",
      ],
      {},
      /Listening at: http:\/\/127\.0\.0\.1:(\d+)/,
    );
    expect(await mint(port)).toEqual(expected);
  });

  it("wrk with the bench's script (bench/wrk-post.lua) signs in with each key in turn and gets tokens", async () => {
    const keys = [key, randomBytes(32).toString("hex"), randomBytes(32).toString("hex")];
    const issuer = await startNodeIssuer({
      JWT_APP_ID: env.JWT_APP_ID,
      JWT_APP_SECRET: secret,
      JITSI_DOMAIN: env.JITSI_DOMAIN,
      ISSUER_API_KEYS: keys.join(","),
      ISSUER_RATE_LIMIT_PER_MINUTE: "10000",
    });
    try {
      const body = JSON.stringify({ room: "bench-room", user: { name: "Bench" }, ttlSeconds: 600 });
      /** One second of wrk over 2 connections, run as the bench runs it (scripts/lib/bench/wrk.ts). */
      const wrk = async (pauseMs?: number) => {
        const summary = await runWrk({
          url: `${issuer.baseUrl}/v1/token`,
          connections: 2,
          seconds: 1,
          keys,
          body,
          pauseMs,
        });
        expect(summary).toMatchObject({ non2xx: 0, errors: 0 });
        return summary;
      };
      const summary = await wrk();
      expect(summary.requests).toBeGreaterThan(30);
      // The issuer logs a caller fingerprint per token: one per key, each about a third of the tokens.
      const issued = () =>
        issuer
          .logs()
          .split("\n")
          .filter((line) => line.includes('"event":"token_issued"'));
      await waitFor(() => issued().length >= summary.requests!);
      const callers = new Map<string, number>();
      for (const line of issued()) {
        const { caller } = JSON.parse(line) as { caller: string };
        callers.set(caller, (callers.get(caller) ?? 0) + 1);
      }
      expect(callers.size).toBe(3);
      for (const count of callers.values()) expect(count).toBeGreaterThan(summary.requests! / 4);

      // Paced (BENCH_PAUSE_MS=100): each of the 2 connections waits 0-200 ms after every answer, so a
      // second holds about 20 requests, where the saturated run above held hundreds.
      const pacedSummary = await wrk(100);
      expect(pacedSummary.requests).toBeGreaterThan(5);
      expect(pacedSummary.requests).toBeLessThan(60);
    } finally {
      await issuer.stop();
    }
  });
});
