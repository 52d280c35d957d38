import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  certificatePath,
  jitsiMeetUnit,
  REFUSED_EXIT_CODE,
  RENEWAL,
  renewalUnits,
  type VmUnitsInput,
  VM_SCRIPTS,
} from "../../../infra/render/vmUnits";
import { REFERENCE_DIR } from "../../helpers/settings";
import { verifySystemdUnits } from "../../helpers/systemd";

const work = mkdtempSync(path.join(tmpdir(), "vm-units-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const INPUT: VmUnitsInput = {
  domain: "meet.example.com",
  release: { tag: "stable-11146-2", commit: "738058b44bc3029ea289bea180cd3838f702af8e" },
  stateDevice: "/dev/disk/by-id/scsi-0HC_Volume_4242",
  extraComposeFiles: ["docker-compose.issuer.yml"],
};

/** `systemd-analyze verify` on these units, with stand-ins for the scripts they run and for Docker. */
const verify = (units: Record<string, string>) =>
  verifySystemdUnits(work, units, [...Object.values(VM_SCRIPTS).map((s) => s.path), "/usr/bin/docker"]);

describe("the VM's systemd units", () => {
  const renewal = renewalUnits(INPUT);

  it("pass systemd's own verification", () => {
    const result = verify({
      "jitsi-meet.service": jitsiMeetUnit(INPUT),
      [RENEWAL.service]: renewal.service,
      [RENEWAL.timer]: renewal.timer,
    });
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("the verification catches a unit systemd would refuse (a oneshot that restarts always)", () => {
    const broken = jitsiMeetUnit(INPUT).replace("Restart=on-failure", "Restart=always");
    const result = verify({ "jitsi-meet.service": broken });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("isn't allowed for Type=oneshot services");
  });

  it("retries a failed start for as long as it takes, except after a refusal", () => {
    const unit = jitsiMeetUnit(INPUT);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartSec=30$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(new RegExp(`^RestartPreventExitStatus=${REFUSED_EXIT_CODE}$`, "m"));
  });

  it("checks the certificate daily and restarts the web container of the same compose project when due", () => {
    expect(renewal.timer).toMatch(/^OnCalendar=\*-\*-\* 03:30:00$/m);
    expect(renewal.timer).toMatch(/^Persistent=true$/m);
    expect(renewal.service).toMatch(/^Requisite=jitsi-meet\.service$/m);
    expect(renewal.service).toContain(
      `ExecStart=${VM_SCRIPTS.renewCert.path} ${certificatePath("meet.example.com")} 30 600 ` +
        "/usr/bin/docker compose -f docker-compose.yml -f docker-compose.issuer.yml restart web",
    );
    // The release's web container mounts CONFIG/storage/web as /storage and installs the certificate there.
    const compose = readFileSync(path.join(REFERENCE_DIR, "docker-compose.yml"), "utf8");
    expect(compose).toContain("- ${CONFIG}/storage/web:/storage:Z");
    const config = readFileSync(path.join(REFERENCE_DIR, "web/rootfs/etc/s6-overlay/scripts/config"), "utf8");
    expect(config).toContain("--fullchain-file /storage/acme-certs/$LETSENCRYPT_DOMAIN/fullchain.pem");
    expect(certificatePath("meet.example.com")).toBe(
      "/opt/jitsi/state/config/storage/web/acme-certs/meet.example.com/fullchain.pem",
    );
  });

  it("refuses an argument systemd would split or expand", () => {
    expect(() => jitsiMeetUnit({ ...INPUT, stateDevice: "/dev/disk/by-id/with space" })).toThrow(
      "'/dev/disk/by-id/with space' cannot be a systemd command argument without quoting",
    );
    expect(() => renewalUnits({ ...INPUT, domain: "meet.example.com%n" })).toThrow(
      /cannot be a systemd command argument/,
    );
  });
});
