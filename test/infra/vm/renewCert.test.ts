import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandIns } from "../../helpers/standins";

const SCRIPT = path.resolve("infra/vm/renew-cert.sh");
const work = mkdtempSync(path.join(tmpdir(), "renew-cert-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A self-signed certificate valid for `days` days, like the ones acme.sh installs (only the dates matter). */
function certificate(name: string, days: number): string {
  const file = path.join(work, `${name}.pem`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      path.join(work, `${name}.key`),
      "-out",
      file,
      "-days",
      String(days),
      "-subj",
      "/CN=meet.example.com",
    ],
    { stdio: "ignore" },
  );
  return file;
}

let soon = "";
let fresh = "";
beforeAll(() => {
  soon = certificate("soon", 10);
  fresh = certificate("fresh", 90);
});

let serial = 0;
/** The VM's certificate file and a stand-in restart command; `renews` says whether the restart brings a new one. */
function vm(current: string | undefined, renews: boolean) {
  const dir = path.join(work, `vm-${++serial}`);
  mkdirSync(dir);
  const cert = path.join(dir, "fullchain.pem");
  if (current) copyFileSync(current, cert);
  const bin = new StandIns(path.join(dir, "bin")).logged(
    "restart-web",
    renews ? `cp "${fresh}" "${cert}"` : "exit 0",
  );
  const run = () =>
    spawnSync("sh", [SCRIPT, cert, "30", "2", "restart-web", "web"], {
      encoding: "utf8",
      env: bin.env({ POLL_SECONDS: "1" }),
    });
  return { run, cert, calls: () => readFileSync(bin.log, "utf8") };
}

describe("renew-cert.sh: the daily certificate check on the VM", () => {
  it("leaves a certificate with more than 30 days alone", () => {
    const v = vm(fresh, true);
    const result = v.run();
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^renew-cert: not due: the certificate is valid until .* \(more than 30 days\)$/m,
    );
    expect(v.calls()).toBe("");
  });

  it("restarts the web container when under 30 days remain, and reports the new certificate", () => {
    const v = vm(soon, true);
    const result = v.run();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(v.calls()).toBe("restart-web web\n");
    expect(result.stdout).toMatch(/in under 30 days: restarting the web container to renew it/);
    expect(result.stdout).toMatch(/^renew-cert: renewed: valid until /m);
    expect(readFileSync(v.cert, "utf8")).toBe(readFileSync(fresh, "utf8"));
  });

  it("fails (exit 1) and says where to look when the restart brings no new certificate", () => {
    const v = vm(soon, false);
    const result = v.run();
    expect(result.status).toBe(1);
    expect(v.calls()).toBe("restart-web web\n");
    expect(result.stderr).toMatch(
      /no new certificate after 2 s \(still valid until .*\); read 'docker compose logs web'/,
    );
  });

  it("does nothing before the first certificate exists", () => {
    const v = vm(undefined, true);
    const result = v.run();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("no certificate at");
    expect(v.calls()).toBe("");
    expect(existsSync(v.cert)).toBe(false);
  });

  it("prints its usage when called wrongly", () => {
    const result = spawnSync("sh", [SCRIPT, "only-one"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^usage: /);
  });
});
