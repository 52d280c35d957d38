import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { USER_DATA_LIMIT_BYTES } from "../../../infra/render/cloudInit";
import { noMeetingBridgeFile, renderBridgeCloudInit } from "../../../infra/render/bridgeCloudInit";
import { composeConfig } from "../../helpers/compose";
import { fakePasswords, settingsWith } from "../../helpers/settings";
import { verifySystemdUnits } from "../../helpers/systemd";
import { cloudInitSchema, writtenFiles } from "../../helpers/userData";
import { VM_SCRIPTS, WAIT_ADDRESS_SCRIPT } from "../../../infra/render/vmUnits";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const render = (overrides: Record<string, string> = {}, index = 1) => {
  const settings = settingsWith({ bridges: "2", ...overrides });
  return renderBridgeCloudInit({
    settings,
    bridge: settings.bridges.bridges[index - 1]!,
    jvbPassword: fakePasswords().JVB_AUTH_PASSWORD,
    advertiseIps: ["203.0.113.51", "2001:db8:4a1:7e00::1"],
    sshHostKey: { privateKey: "mock-private", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAmock" },
  });
};

describe("a bridge VM's user-data, rendered alone", () => {
  it("passes cloud-init schema and stays far under Hetzner's limit", async () => {
    const text = render({ octo: "true" }, 2);
    expect(await cloudInitSchema(text)).toMatchObject({ ok: true });
    expect(Buffer.byteLength(text)).toBeLessThan(USER_DATA_LIMIT_BYTES / 4);
  });

  it("writes only what a jvb-only VM needs: no state volume, no certificate renewal, no web files", () => {
    const paths = writtenFiles(render()).map((f) => f.path);
    expect(paths).toEqual([
      "/opt/jitsi/.env",
      "/opt/jitsi/.jitsi-stack-release.json",
      "/usr/local/sbin/jitsi-stack-install",
      "/usr/local/sbin/jitsi-stack-block-metadata",
      "/usr/local/sbin/jitsi-stack-wait-address",
      "/etc/systemd/system/jitsi-meet.service",
      "/etc/ssh/sshd_config.d/60-jitsi-stack.conf",
      "/etc/apt/apt.conf.d/20auto-upgrades",
      "/etc/docker/daemon.json",
    ]);
  });
});

describe("a bridge VM's unit", () => {
  it("is a valid systemd unit (systemd-analyze verify) that retries until jvb runs", () => {
    const work = mkdtempSync(path.join(tmpdir(), "bridge-unit-"));
    dirs.push(work);
    const unit = writtenFiles(render()).find(
      (f) => f.path === "/etc/systemd/system/jitsi-meet.service",
    )!.content;
    const commands = [
      VM_SCRIPTS.install.path,
      VM_SCRIPTS.blockMetadata.path,
      WAIT_ADDRESS_SCRIPT.path,
      "/usr/bin/docker",
    ];
    const verified = verifySystemdUnits(work, { "jitsi-meet.service": unit }, commands);
    expect(verified.output).toBe("");
    expect(verified.status).toBe(0);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=3$/m);
  });
});

describe("the meeting VM without its own bridge (jitsi:meetingBridge false)", () => {
  // Compose starts a service with profiles only when one of them is asked for (compose spec, "profiles");
  // the unit never asks. Debian's docker-compose 1.29 lists such services anyway, so the test reads the merge.
  it("puts jvb, and only jvb, in a profile no one starts (docker-compose config)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "no-jvb-"));
    dirs.push(dir);
    const file = noMeetingBridgeFile();
    const override = path.join(dir, path.basename(file.path));
    writeFileSync(override, file.content);
    const merged = composeConfig(dir, [override]);
    expect(merged.status, merged.stderr).toBe(0);
    const profiled = Object.entries(merged.services!)
      .filter(([, service]) => service.profiles)
      .map(([name, service]) => [name, service.profiles]);
    expect(profiled).toEqual([["jvb", ["meeting-bridge-off"]]]);
    expect(composeConfig(dir, []).services!.jvb!.profiles).toBeUndefined();
  });
});
