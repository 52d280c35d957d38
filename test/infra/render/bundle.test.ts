import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { bundleIssuer } from "../../../infra/render/bundle";
import { verifyWithPyJwt } from "../../issuer/pyjwt";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("issuer bundle", () => {
  it("is byte-identical across builds, so an unchanged issuer gives no deploy diff", () => {
    for (const target of ["worker", "node"] as const) {
      expect(bundleIssuer(target)).toBe(bundleIssuer(target));
    }
  });

  it("carries no absolute paths of the build machine", () => {
    for (const target of ["worker", "node"] as const) {
      const bundle = bundleIssuer(target);
      expect(bundle).not.toContain(path.resolve(__dirname, "..", "..", ".."));
      expect(bundle).not.toMatch(/\/(home|root|tmp|work)\//);
    }
  });

  it("keeps the Worker an ES module without Node built-ins", () => {
    const bundle = bundleIssuer("worker");
    expect(bundle).toMatch(/export\s*\{[^}]*as default/);
    expect(bundle).not.toMatch(/from\s*"node:/);
    // The README's target for the Worker bundle.
    expect(gzipSync(bundle).length).toBeLessThan(30 * 1024);
  });

  it("runs on its own (no node_modules) as the VM's container does, behind the /token/ prefix", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "issuer-bundle-"));
    dirs.push(dir);
    writeFileSync(path.join(dir, "issuer.mjs"), bundleIssuer("node"));
    const secret = randomBytes(32).toString("hex");
    const key = randomBytes(32).toString("hex");
    const child = spawn(process.execPath, [path.join(dir, "issuer.mjs")], {
      cwd: dir,
      env: {
        JWT_APP_ID: "jitsi-stack",
        JWT_APP_SECRET: secret,
        JITSI_DOMAIN: "meet.example.com",
        ISSUER_API_KEYS: key,
        PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /"port":(\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.once("exit", (code) => reject(new Error(`bundle exited ${code}: ${out}`)));
      });
      const health = await fetch(`http://127.0.0.1:${port}/token/healthz`);
      expect(health.status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${port}/token/v1/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ room: "vm-room", user: { name: "Vm" } }),
      });
      const body = (await res.json()) as { token: string };
      expect(res.status).toBe(200);
      expect(verifyWithPyJwt("jitsi-stack", secret, body.token).claims?.room).toBe("vm-room");
    } finally {
      child.kill("SIGTERM");
    }
  });
});
