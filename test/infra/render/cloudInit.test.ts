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
  deterministicGzip,
  renderCloudInit,
  USER_DATA_LIMIT_BYTES,
  type CloudInitInput,
} from "../../../infra/render/cloudInit";
import { jitsiEnvEntries } from "../../../infra/render/jitsiEnv";
import { fakePasswords, REFERENCE_DIR, settingsWith } from "../../helpers/settings";

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
    ...extra,
  };
}
const render = (...args: Parameters<typeof input>) => renderCloudInit(input(...args));
const doc = (text: string) => parse(text) as CloudConfig;
const file = (text: string, filePath: string) => doc(text).write_files.find((f) => f.path === filePath);

/** Runs Debian's cloud-init schema validator on a document. */
function cloudInitSchema(text: string): { ok: boolean; output: string } {
  const target = path.join(work, `user-data-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(target, text);
  const result = spawnSync("cloud-init", ["schema", "--config-file", target], { encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

describe("cloud-init user-data", () => {
  it("passes cloud-init's own schema validation", () => {
    const result = cloudInitSchema(render());
    expect(result.output).toMatch(/Valid cloud-config/);
    expect(result.ok).toBe(true);
  });

  it("the validator does reject a broken document (so the check above can fail)", () => {
    const broken = render().replace("ssh_pwauth: false", "ssh_pwauth: [not, a, boolean]");
    expect(cloudInitSchema(broken).ok).toBe(false);
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
    const env = file(render(), `${VM_LAYOUT.jitsiDir}/.env`);
    expect(env?.permissions).toBe("0600");
    expect(env?.owner).toBe("root:root");
    expect(env?.content).toMatch(/^AUTH_TYPE=jwt$/m);
    expect(env?.content).toMatch(/^JVB_ADVERTISE_IPS=203\.0\.113\.10$/m);
  });

  it("fetches the pinned tag and passes the commit it must resolve to", () => {
    const text = render({
      jitsiRelease: "stable-10590",
      jitsiCommit: "0123456789abcdef0123456789abcdef01234567",
    });
    const install = doc(text).runcmd.find((cmd) => cmd[0] === "/usr/local/sbin/jitsi-stack-install");
    expect(install?.slice(1, 7)).toEqual([
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
    const install = doc(render()).runcmd.find((cmd) => cmd[0] === "/usr/local/sbin/jitsi-stack-install")!;
    expect(install.slice(7)).toEqual([...CONFIG_MOUNT_DIRS]);
    expect([...mounted].filter((dir) => !install.includes(dir))).toEqual([]);
  });

  it("stops at the first failing command, so a refused install never starts the stack", () => {
    const runcmd = doc(render()).runcmd;
    expect(runcmd[0]).toBe("set -e");
    const install = runcmd.findIndex((cmd) => cmd[0] === "/usr/local/sbin/jitsi-stack-install");
    const start = runcmd.findIndex(
      (cmd) => [cmd].flat().join(" ") === "systemctl enable --now jitsi-meet.service",
    );
    expect(install).toBeGreaterThan(0);
    expect(start).toBeGreaterThan(install);
  });

  it("runs the stack under a systemd unit that comes back after a reboot", () => {
    const text = render();
    const unit = file(text, "/etc/systemd/system/jitsi-meet.service")?.content ?? "";
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^ExecStartPre=\/usr\/local\/sbin\/jitsi-stack-block-metadata$/m);
    expect(file(text, "/usr/local/sbin/jitsi-stack-block-metadata")?.content).toBe(
      readFileSync("infra/vm/block-metadata.sh", "utf8"),
    );
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/docker compose -f docker-compose\.yml up -d --remove-orphans$/m,
    );
    expect(doc(text).runcmd.at(-1)).toEqual(["systemctl", "enable", "--now", "jitsi-meet.service"]);
    const layered = file(
      renderCloudInit(input({}, { extraComposeFiles: ["docker-compose.issuer.yml"] })),
      "/etc/systemd/system/jitsi-meet.service",
    );
    expect(layered?.content).toContain("-f docker-compose.yml -f docker-compose.issuer.yml up -d");
  });

  it("is the same text for the same input", () => {
    expect(render()).toBe(render());
  });

  it("compresses large extra files and keeps them byte-exact", () => {
    const big = "console.log('issuer');\n".repeat(600);
    const text = renderCloudInit(
      input({}, { extraFiles: [{ path: "/opt/jitsi/issuer/issuer.js", content: big, permissions: "0644" }] }),
    );
    const written = file(text, "/opt/jitsi/issuer/issuer.js")!;
    expect(written.encoding).toBe("gz+b64");
    expect(gunzipSync(Buffer.from(written.content, "base64")).toString()).toBe(big);
    expect(cloudInitSchema(text).ok).toBe(true);
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
