import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GateOptions, probeOnce, waitForHttps } from "../../../infra/gate/waitForHttps";

const work = mkdtempSync(path.join(tmpdir(), "gate-test-"));
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: work, stdio: "pipe" });
/** P-256 keys: the gate checks names and issuers, not key types, and openssl makes one at once (RSA: 0.1-1 s). */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA (with the given organisation) and a certificate it signed for meet.example.test. */
function issue(name: string, organisation: string): { ca: string; key: string; cert: string } {
  openssl(
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "2",
    "-subj",
    `/O=${organisation}/CN=${name} CA`,
    "-keyout",
    `${name}-ca.key`,
    "-out",
    `${name}-ca.pem`,
  );
  openssl(
    "req",
    ...EC_KEY,
    "-subj",
    "/CN=meet.example.test",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  );
  writeFileSync(path.join(work, `${name}.ext`), "subjectAltName=DNS:meet.example.test\n");
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${name}-ca.pem`,
    "-CAkey",
    `${name}-ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  );
  const read = (file: string) => readFileSync(path.join(work, file), "utf8");
  return { ca: read(`${name}-ca.pem`), key: read(`${name}.key`), cert: read(`${name}.pem`) };
}

const servers: https.Server[] = [];
async function serve(tls: { key: string; cert: string }, status = 200): Promise<number> {
  const server = https.createServer(tls, (_req, res) => res.writeHead(status).end("jitsi"));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

let trusted: ReturnType<typeof issue>;
let staging: ReturnType<typeof issue>;
beforeAll(() => {
  trusted = issue("trusted", "Test CA");
  staging = issue("staging", "(STAGING) Let's Encrypt");
});
afterAll(() => {
  servers.forEach((s) => s.close());
  rmSync(work, { recursive: true, force: true });
});

const options = (port: number, extra: Partial<GateOptions> = {}): GateOptions => ({
  url: `https://meet.example.test:${port}/`,
  timeoutSeconds: 1,
  intervalSeconds: 0.2,
  staging: false,
  connectHost: "127.0.0.1",
  ...extra,
});

describe("readiness gate", () => {
  it("passes when the site answers with a certificate the machine trusts", async () => {
    const port = await serve(trusted);
    const message = await waitForHttps(options(port, { ca: trusted.ca }), () => {});
    expect(message).toMatch(/is ready: HTTP 200, certificate issued by 'Test CA \/ trusted CA'/);
  });

  it("keeps waiting, then fails naming the last error, while the certificate is not trusted", async () => {
    const port = await serve(trusted);
    const lines: string[] = [];
    await expect(waitForHttps(options(port), (line) => lines.push(line))).rejects.toThrow(
      /did not answer with a valid certificate within 1 s; last error: .*(self-signed|unable to verify|UNABLE_TO_VERIFY)/i,
    );
    expect(lines.length).toBe(1);
  });

  it("refuses a certificate for another hostname", async () => {
    const port = await serve(trusted);
    const probe = await probeOnce(
      options(port, { url: `https://other.example.test:${port}/`, ca: trusted.ca }),
    );
    expect(probe).toEqual({ ok: false, reason: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
  });

  it("with Let's Encrypt staging, accepts only a staging-issued certificate", async () => {
    expect(await probeOnce(options(await serve(staging), { staging: true }))).toMatchObject({ ok: true });
    expect(await probeOnce(options(await serve(trusted), { staging: true }))).toEqual({
      ok: false,
      reason: "certificate issued by 'Test CA / trusted CA', not yet by Let's Encrypt staging",
    });
  });

  it("with Let's Encrypt staging, refuses a staging-named issuer of another organisation", async () => {
    const lookalike = issue("lookalike", "STAGING Lookalike CA");
    expect(await probeOnce(options(await serve(lookalike), { staging: true }))).toEqual({
      ok: false,
      reason: "certificate issued by 'STAGING Lookalike CA / lookalike CA', not yet by Let's Encrypt staging",
    });
  });

  it("with Let's Encrypt staging, refuses a staging certificate for another hostname", async () => {
    const port = await serve(staging);
    const probe = await probeOnce(
      options(port, { url: `https://other.example.test:${port}/`, staging: true }),
    );
    expect(probe).toEqual({
      ok: false,
      reason: expect.stringMatching(/^staging certificate does not name other\.example\.test: /),
    });
  });

  it("treats a server error as not ready", async () => {
    const port = await serve(trusted, 502);
    expect(await probeOnce(options(port, { ca: trusted.ca }))).toEqual({ ok: false, reason: "HTTP 502" });
  });

  it("reports a closed port", async () => {
    const port = await serve(trusted);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await probeOnce(options(port, { ca: trusted.ca }))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^ECONNREFUSED/),
    });
  });

  it("as a command: exits 0 when ready, 1 on timeout, 2 on bad settings", async () => {
    const port = await serve(trusted);
    // Asynchronous: this process also serves the HTTPS site the command probes.
    const run = (env: Record<string, string>) =>
      new Promise<{ status: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--require", "ts-node/register/transpile-only", "infra/gate/waitForHttps.ts"],
          {
            env: {
              PATH: process.env.PATH!,
              GATE_CONNECT_HOST: "127.0.0.1",
              GATE_INTERVAL_SECONDS: "0.2",
              ...env,
            },
          },
          (error, _stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stderr }),
        );
      });
    const url = `https://meet.example.test:${port}/`;
    expect((await run({ GATE_URL: url, GATE_CA_PEM: trusted.ca, GATE_TIMEOUT_SECONDS: "2" })).status).toBe(0);
    const timedOut = await run({ GATE_URL: url, GATE_TIMEOUT_SECONDS: "1" });
    expect(timedOut.status).toBe(1);
    expect(timedOut.stderr).toContain("did not answer with a valid certificate within 1 s");
    const bad = await run({ GATE_URL: "http://meet.example.test/" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("GATE_URL must be an https:// URL (got 'http://meet.example.test/')");
    expect((await run({ GATE_URL: url, GATE_TIMEOUT_SECONDS: "soon" })).stderr).toContain(
      "GATE_TIMEOUT_SECONDS must be a positive number",
    );
  });
});
