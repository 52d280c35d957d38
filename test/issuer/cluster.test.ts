import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IssuerConfigError } from "../../issuer/config";
import { nodeSettingsFromEnv } from "../../issuer/nodeSettings";
import { waitFor } from "./behaviour";
import { inParallel, request } from "./client";
import { ROOT, startNodeIssuer } from "./targets";

const key = randomBytes(32).toString("hex");
const env = {
  JWT_APP_ID: "jitsi-stack",
  JWT_APP_SECRET: randomBytes(32).toString("hex"),
  JITSI_DOMAIN: "meet.example.com",
  ISSUER_API_KEYS: key,
};

describe("npm run issuer on every core (ISSUER_WORKERS)", () => {
  it("serves token requests from each of the worker processes, and stops them all on SIGTERM", async () => {
    const issuer = await startNodeIssuer({ ...env, ISSUER_WORKERS: "2" });
    try {
      expect(issuer.logs()).toMatch(/"event":"listening".*"workers":2/);
      // Each request on a connection of its own: the primary hands connections out in turn.
      const statuses = await inParallel(Array.from({ length: 16 }), 4, async () => {
        const res = await request(`${issuer.baseUrl}/v1/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ room: "cores", user: { name: "Ada" } }),
        });
        await res.arrayBuffer();
        return res.status;
      });
      expect(new Set(statuses)).toEqual(new Set([200]));
      const workers = () =>
        new Set(
          issuer
            .logs()
            .split("\n")
            .filter((l) => l.includes('"event":"token_issued"'))
            .map((l) => (JSON.parse(l) as { worker?: number }).worker),
        );
      await waitFor(() => workers().size === 2);
      expect(workers()).toEqual(new Set([1, 2]));
    } finally {
      await issuer.stop();
    }
    await expect(request(`${issuer.baseUrl}/healthz`)).rejects.toThrow();
  });

  it("refuses a worker count that is not a number from 1 to 64, or auto, at start", async () => {
    await expect(startNodeIssuer({ ...env, ISSUER_WORKERS: "lots" })).rejects.toThrow(
      /ISSUER_WORKERS must be a number of processes from 1 to 64, or auto/,
    );
  });
});

describe("npm run issuer with a bad JITSI_DOMAIN", () => {
  it.each(["https://meet.example.com/", "meet.example.com/room", "meet.example.com:8443"])(
    "refuses %j at start with one line naming it, and never listens",
    (domain) => {
      const run = spawnSync("npm", ["run", "--silent", "issuer"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, JITSI_DOMAIN: domain, PORT: "0" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.status).toBe(1);
      expect(run.stdout).not.toContain("listening");
      expect(run.stderr).toBe(
        `The token issuer's settings are invalid: JITSI_DOMAIN must be the meeting's hostname like meet.example.com, without scheme, port or path (got '${domain}')\n`,
      );
    },
  );
});

describe("the Node server's own settings", () => {
  it.each([
    [{}, { port: 8080, host: "127.0.0.1", workers: 1 }],
    [
      { PORT: "0", HOST: "0.0.0.0", ISSUER_WORKERS: "3" },
      { port: 0, host: "0.0.0.0", workers: 3 },
    ],
    [{ ISSUER_WORKERS: "auto" }, { port: 8080, host: "127.0.0.1", workers: 6 }],
  ])("read %j", (input, expected) => {
    expect(nodeSettingsFromEnv(input, 6)).toEqual(expected);
  });

  it("report every bad value at once", () => {
    let caught: unknown;
    try {
      nodeSettingsFromEnv({ PORT: "80x", ISSUER_WORKERS: "0" }, 2);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IssuerConfigError);
    expect((caught as IssuerConfigError).problems).toEqual([
      "PORT must be a port number from 0 to 65535 (got '80x')",
      "ISSUER_WORKERS must be a number of processes from 1 to 64, or auto for one per core (got '0')",
    ]);
  });
});
