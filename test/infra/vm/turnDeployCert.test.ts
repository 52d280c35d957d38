import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coturnDropIn, coturnOptions, formatCoturnConfig } from "../../../infra/render/coturn";
import {
  type CoturnFixture,
  prosodyTurnCredentials,
  startCoturn,
  TEST_CERT_NAMES,
  uclient,
} from "../../helpers/coturn";
import { settingsWith } from "../../helpers/settings";

const HOOK = path.resolve("infra/vm/turn-deploy-cert.sh");
const SECRET = "4b".repeat(20);
const work = mkdtempSync(path.join(tmpdir(), "turn-renewal-"));

/** The reload command of the coturn.service drop-in we render, as systemd would run it. */
const execReload = /^ExecReload=(.*)$/m.exec(coturnDropIn())![1]!;

/**
 * A stand-in for systemctl: `try-reload-or-restart coturn.service` runs the unit's ExecReload with
 * MAINPID set to the test's coturn, as systemd does for a running unit. Every call is logged.
 */
function systemctlStandIn(bin: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, "systemctl"),
    [
      "#!/bin/sh",
      'echo "systemctl $*" >> "$SYSTEMCTL_LOG"',
      '[ "$1" = try-reload-or-restart ] && [ "$2" = coturn.service ] || exit 0',
      `MAINPID=$COTURN_PID exec sh -c '${execReload}'`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}

/** The serial number of the certificate a TLS client gets from coturn's TLS port. */
function servedSerial(coturn: CoturnFixture): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port: coturn.tlsPort, ca: coturn.ca.ca, servername: "turn.meet.example.com" },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial);
      },
    );
    socket.once("error", reject);
  });
}
const sameSerial = (a: string, b: string) =>
  a.replace(/^0+/, "").toUpperCase() === b.replace(/^0+/, "").toUpperCase();

describe("certificate renewal on the TURN VM: certbot's deploy hook and Debian's coturn", () => {
  let coturn: CoturnFixture;
  const bin = path.join(work, "bin");
  const log = path.join(work, "systemctl.log");
  beforeAll(async () => {
    systemctlStandIn(bin);
    coturn = await startCoturn(
      formatCoturnConfig(coturnOptions({ turn: settingsWith().turn, secret: SECRET })),
    );
  });
  afterAll(async () => {
    await coturn?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs the hook as certbot does after a renewal: RENEWED_LINEAGE names the new certificate's folder. */
  function renew(lineage: string) {
    return spawnSync("sh", [HOOK], {
      encoding: "utf8",
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        RENEWED_LINEAGE: lineage,
        RENEWED_DOMAINS: "turn.meet.example.com",
        TURN_CERT_DIR: coturn.certDir,
        SYSTEMCTL_LOG: log,
        COTURN_PID: String(coturn.pid),
      },
    });
  }

  it("a renewed certificate is served by the same coturn process, with no restart, and relays still allocate", async () => {
    expect(sameSerial(await servedSerial(coturn), coturn.serial)).toBe(true);
    const renewed = coturn.ca.issue("renewed", TEST_CERT_NAMES);
    const lineage = path.join(work, "live", "turn.meet.example.com");
    mkdirSync(lineage, { recursive: true });
    copyFileSync(renewed.certFile, path.join(lineage, "fullchain.pem"));
    copyFileSync(renewed.keyFile, path.join(lineage, "privkey.pem"));

    const result = renew(lineage);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("systemctl try-reload-or-restart coturn.service\n");

    // coturn reloads in its own event loop: wait (boundedly) for the new certificate to be served.
    let served = "";
    for (let attempt = 0; attempt < 100 && !sameSerial(served, renewed.serial); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      served = await servedSerial(coturn);
    }
    expect(sameSerial(served, renewed.serial), `served ${served}, renewed ${renewed.serial}`).toBe(true);
    expect(coturn.log()).toContain("Reloading TLS certificates and keys");
    expect(() => process.kill(coturn.pid, 0)).not.toThrow();

    const run = await uclient({
      transport: "tls",
      port: coturn.tlsPort,
      ca: coturn.ca.caFile,
      ...prosodyTurnCredentials(SECRET, 3600),
    });
    expect(run.relayed.length, run.output).toBeGreaterThan(0);
  });

  it("leaves the key readable by coturn's group only, and no half-written file behind", () => {
    expect((statSync(coturn.certDir).mode & 0o777).toString(8)).toBe("750");
    for (const name of ["fullchain.pem", "privkey.pem"]) {
      const stat = statSync(path.join(coturn.certDir, name));
      expect((stat.mode & 0o777).toString(8), name).toBe("640");
      const group = spawnSync("stat", ["-c", "%G", path.join(coturn.certDir, name)], { encoding: "utf8" });
      expect(group.stdout.trim()).toBe("turnserver");
    }
    const left = spawnSync("ls", ["-A", coturn.certDir], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(left.sort()).toEqual(["fullchain.pem", "privkey.pem"]);
  });

  it("refuses to run outside certbot, touching nothing", () => {
    const result = spawnSync("sh", [HOOK], { encoding: "utf8", env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/RENEWED_LINEAGE: is set by certbot/);
  });
});
