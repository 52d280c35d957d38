import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_MOUNT_DIRS, VM_LAYOUT } from "../../../config/versions";
import {
  vmScript,
  deterministicGzip,
  renderCloudInit,
  USER_DATA_LIMIT_BYTES,
  type CloudInitInput,
} from "../../../infra/render/cloudInit";
import { jitsiEnvEntries } from "../../../infra/render/jitsiEnv";
import { fakePasswords, REFERENCE_DIR, settingsWith } from "../../helpers/settings";
import { cloudInitSchema, writtenFiles } from "../../helpers/userData";

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: string;
}
interface CloudConfig {
  packages: string[];
  ssh_keys: Record<string, string>;
  ssh_genkeytypes: string[];
  ssh_deletekeys: boolean;
  write_files: WriteFile[];
  runcmd: Array<string | string[]>;
  ssh_pwauth: boolean;
  ntp: { enabled: boolean };
  timezone: string;
}

const HOST_KEY = {
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLE",
};
const work = mkdtempSync(path.join(tmpdir(), "cloud-init-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function input(overrides: Record<string, string> = {}, extra: Partial<CloudInitInput> = {}): CloudInitInput {
  const settings = settingsWith(overrides);
  return {
    settings,
    env: jitsiEnvEntries({
      settings,
      jwtAppSecret: "3f".repeat(32),
      passwords: fakePasswords(),
      advertiseIps: ["203.0.113.10"],
    }),
    sshHostKey: HOST_KEY,
    stateDevice: "/dev/disk/by-id/scsi-0HC_Volume_4242",
    ...extra,
  };
}
const render = (...args: Parameters<typeof input>) => renderCloudInit(input(...args));
const doc = (text: string) => parse(text) as CloudConfig;
const file = (text: string, filePath: string) => doc(text).write_files.find((f) => f.path === filePath);
/** A written file's text, gunzipped when cloud-init gets it compressed. */
const writtenContent = (text: string, filePath: string) =>
  writtenFiles(text).find((f) => f.path === filePath)?.content;
const unitFile = (text: string) => writtenContent(text, "/etc/systemd/system/jitsi-meet.service") ?? "";
/** The install step's arguments, from the unit's ExecStartPre line. */
const installArgs = (text: string) =>
  /^ExecStartPre=\/usr\/local\/sbin\/jitsi-stack-install (.*)$/m.exec(unitFile(text))![1]!.split(" ");

describe("cloud-init user-data", () => {
  it("passes cloud-init's own schema validation", async () => {
    const result = await cloudInitSchema(render());
    expect(result.output).toMatch(/Valid cloud-config/);
    expect(result.ok).toBe(true);
  });

  it("the validator does reject a broken document (so the check above can fail)", async () => {
    const broken = render().replace("ssh_pwauth: false", "ssh_pwauth: [not, a, boolean]");
    expect((await cloudInitSchema(broken)).ok).toBe(false);
  });

  it("installs Docker with compose v2 from Ubuntu's packages and keeps the clock synced", () => {
    const config = doc(render());
    expect(config.packages).toEqual(
      expect.arrayContaining(["docker.io", "docker-compose-v2", "chrony", "git"]),
    );
    expect(config.ntp.enabled).toBe(true);
  });

  it("turns SSH password login off and unattended upgrades on", () => {
    const text = render();
    expect(doc(text).ssh_pwauth).toBe(false);
    expect(file(text, "/etc/ssh/sshd_config.d/60-jitsi-stack.conf")?.content).toMatch(
      /^PasswordAuthentication no$/m,
    );
    expect(file(text, "/etc/apt/apt.conf.d/20auto-upgrades")?.content).toContain(
      'APT::Periodic::Unattended-Upgrade "1";',
    );
    expect(doc(text).packages).toContain("unattended-upgrades");
  });

  it("presents the SSH host key from Pulumi state, and no other, so clients can pin it", () => {
    const config = doc(render());
    expect(config.ssh_keys).toEqual({
      ed25519_private: HOST_KEY.privateKey,
      ed25519_public: HOST_KEY.publicKey,
    });
    expect(config.ssh_deletekeys).toBe(true);
    expect(config.ssh_genkeytypes).toEqual(["ed25519"]);
  });

  it("writes .env readable by root only, with the rendered entries", () => {
    const env = {
      ...file(render(), `${VM_LAYOUT.jitsiDir}/.env`),
      content: writtenContent(render(), `${VM_LAYOUT.jitsiDir}/.env`),
    };
    expect(env?.permissions).toBe("0600");
    expect(env?.owner).toBeUndefined(); // cloud-init writes root:root when no owner is named
    expect(env?.content).toMatch(/^AUTH_TYPE=jwt$/m);
    expect(env?.content).toMatch(/^JVB_ADVERTISE_IPS=203\.0\.113\.10$/m);
  });

  it("fetches the pinned tag and passes the commit it must resolve to", () => {
    const text = render({
      jitsiRelease: "stable-10590",
      jitsiCommit: "0123456789abcdef0123456789abcdef01234567",
    });
    expect(installArgs(text).slice(0, 6)).toEqual([
      "https://github.com/jitsi/docker-jitsi-meet.git",
      "stable-10590",
      "0123456789abcdef0123456789abcdef01234567",
      "/opt/jitsi",
      "/opt/jitsi/state/config",
      "1000",
    ]);
    expect(JSON.parse(file(text, VM_LAYOUT.releaseFile)!.content)).toEqual({
      tag: "stable-10590",
      commit: "0123456789abcdef0123456789abcdef01234567",
    });
  });

  it("creates every config directory that the release's compose files mount", () => {
    const mounted = new Set<string>();
    for (const compose of ["docker-compose.yml", "jibri.yml", "jigasi.yml"]) {
      const services = (
        parse(readFileSync(path.join(REFERENCE_DIR, compose), "utf8")) as {
          services: Record<string, { volumes?: string[] }>;
        }
      ).services;
      for (const service of Object.values(services)) {
        for (const volume of service.volumes ?? []) {
          const match = /^\$\{CONFIG\}\/([^:]+):/.exec(volume);
          if (match) mounted.add(match[1]!);
        }
      }
    }
    expect(mounted.size).toBeGreaterThanOrEqual(12);
    const install = installArgs(render());
    expect(install.slice(6)).toEqual([...CONFIG_MOUNT_DIRS]);
    expect([...mounted].filter((dir) => !install.includes(dir))).toEqual([]);
  });

  it("hands the start to the unit, which mounts the volume, installs, fences the metadata service, then starts", () => {
    const text = render();
    expect(doc(text).runcmd).toEqual([
      ["systemctl", "try-reload-or-restart", "ssh"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "jitsi-meet.service", "jitsi-stack-renew-cert.timer"],
      ["systemctl", "start", "--no-block", "jitsi-meet.service", "jitsi-stack-renew-cert.timer"],
    ]);
    const unit = unitFile(text);
    expect(unit.match(/^ExecStartPre=\S+/gm)).toEqual([
      "ExecStartPre=/usr/local/sbin/jitsi-stack-mount-state",
      "ExecStartPre=/usr/local/sbin/jitsi-stack-install",
      "ExecStartPre=/usr/local/sbin/jitsi-stack-block-metadata",
    ]);
    expect(unit).toMatch(
      /^ExecStartPre=\/usr\/local\/sbin\/jitsi-stack-mount-state \/dev\/disk\/by-id\/scsi-0HC_Volume_4242 \/opt\/jitsi\/state$/m,
    );
    for (const [script, source] of [
      ["/usr/local/sbin/jitsi-stack-install", "install-jitsi.sh"],
      ["/usr/local/sbin/jitsi-stack-mount-state", "mount-state.sh"],
      ["/usr/local/sbin/jitsi-stack-block-metadata", "block-metadata.sh"],
      ["/usr/local/sbin/jitsi-stack-renew-cert", "renew-cert.sh"],
    ]) {
      expect(writtenContent(text, script!), script).toBe(vmScript(source!));
      expect(file(text, script!)?.permissions).toBe("0755");
    }
  });

  it("runs the stack under a systemd unit that comes back after a reboot and retries a failed start", () => {
    const text = render();
    const unit = unitFile(text);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    // Wants: a missing Docker fails the install step (which installs it), not the unit's dependencies.
    expect(unit).toMatch(/^Wants=docker\.service network-online\.target$/m);
    expect(unit).not.toMatch(/^Requires=/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=3$/m);
    expect(unit).toMatch(/^Environment="REQUIRED_PACKAGES=docker\.io docker-compose-v2 git"$/m);
    expect(unit).toMatch(/^Environment=MANAGED_CONFIG_DIR=\/opt\/jitsi\/managed-config$/m);
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/docker compose -f docker-compose\.yml up -d --remove-orphans$/m,
    );
    const layered = unitFile(
      renderCloudInit(input({}, { extraComposeFiles: ["docker-compose.issuer.yml"] })),
    );
    expect(layered).toContain("-f docker-compose.yml -f docker-compose.issuer.yml up -d");
  });

  it("is the same text for the same input", () => {
    expect(render()).toBe(render());
  });

  it("compresses large extra files and keeps them byte-exact", async () => {
    const big = "console.log('issuer');\n".repeat(600);
    const text = renderCloudInit(
      input({}, { extraFiles: [{ path: "/opt/jitsi/issuer/issuer.js", content: big, permissions: "0644" }] }),
    );
    const written = file(text, "/opt/jitsi/issuer/issuer.js")!;
    expect(written.encoding).toBe("gz+b64");
    expect(gunzipSync(Buffer.from(written.content, "base64")).toString()).toBe(big);
    expect((await cloudInitSchema(text)).ok).toBe(true);
  });

  it("writes extra units and enables and starts only the ones named, after jitsi-meet.service", () => {
    const extraUnits = {
      files: { "extra.service": "[Unit]\n", "extra.timer": "[Unit]\n" },
      start: ["extra.timer"],
    };
    const text = renderCloudInit(input({}, { extraUnits }));
    expect(file(text, "/etc/systemd/system/extra.service")?.content).toBe("[Unit]\n");
    const config = doc(text);
    expect(config.runcmd).toContainEqual([
      "systemctl",
      "enable",
      VM_LAYOUT.service,
      "jitsi-stack-renew-cert.timer",
      "extra.timer",
    ]);
  });

  it("refuses to start an extra unit it does not write", () => {
    expect(() =>
      renderCloudInit(
        input({}, { extraUnits: { files: { "extra.service": "[Unit]\n" }, start: ["extra.timer"] } }),
      ),
    ).toThrow("extra unit extra.timer is to be started but is not written");
  });

  it("sends the VM scripts without their comments, every line of code kept, and still valid shell", () => {
    for (const source of ["install-jitsi.sh", "mount-state.sh", "block-metadata.sh", "renew-cert.sh"]) {
      const original = readFileSync(`infra/vm/${source}`, "utf8");
      const sent = vmScript(source);
      const code = (text: string) => text.split("\n").filter((line) => !/^\s*#/.test(line));
      expect(code(sent), source).toEqual(code(original));
      expect(sent.startsWith("#!/bin/sh\n# jitsi-stack infra/vm/")).toBe(true);
      expect(sent.length).toBeLessThan(original.length);
      const file = path.join(work, `sent-${source}`);
      writeFileSync(file, sent);
      expect(spawnSync("sh", ["-n", file]).status, source).toBe(0);
      const lint = spawnSync("shellcheck", [file], { encoding: "utf8" });
      expect(lint.status, lint.stdout).toBe(0);
    }
  });

  it("compresses to the same bytes on every machine: no OS byte from the build, no timestamp", () => {
    // Node's zlib writes OS 19 on macOS and 3 on Linux; a different user-data replaces the server.
    const fixture = "#!/bin/sh\n# pinned fixture\n" + "echo jitsi-stack user-data fixture\n".repeat(200);
    const gz = deterministicGzip(fixture);
    expect(gz.subarray(0, 10).toString("hex")).toBe("1f8b0800000000000203"); // mtime 0, XFL 2, OS 3 (Unix)
    expect(createHash("sha256").update(gz).digest("hex")).toBe(
      "dc50ed83345383d395ccd667ed09fa1ae4522d921cad6999aa0dd70b7a0d2f93",
    );
    expect(gunzipSync(gz).toString()).toBe(fixture);
  });

  it("refuses user-data over Hetzner's 32 KiB limit", () => {
    const noise = execFileSync("openssl", ["rand", "-base64", String(40 * 1024)]).toString();
    expect(() =>
      renderCloudInit(
        input({}, { extraFiles: [{ path: "/opt/noise", content: noise, permissions: "0600" }] }),
      ),
    ).toThrow(new RegExp(`at most ${USER_DATA_LIMIT_BYTES}`));
  });
});
