import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JITSI_RELEASE } from "../../../config/versions";
import { jitsiMeetUnit, REFUSED_EXIT_CODE, VM_SCRIPTS } from "../../../infra/render/vmUnits";
import { StandIns } from "../../helpers/standins";

const work = mkdtempSync(path.join(tmpdir(), "start-path-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const DEVICE = "/dev/disk/by-id/scsi-0HC_Volume_4242";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd })
    .toString()
    .trim();

let upstream = "";
let commit = "";
beforeAll(() => {
  upstream = path.join(work, "upstream");
  mkdirSync(upstream);
  git(upstream, "init", "--quiet", "--initial-branch=master");
  writeFileSync(path.join(upstream, "docker-compose.yml"), "services: {}\n");
  git(upstream, "add", ".");
  git(upstream, "commit", "--quiet", "-m", "release");
  git(upstream, "tag", "stable-1");
  commit = git(upstream, "rev-parse", "HEAD");
});

/**
 * One VM, as far as jitsi-meet.service sees it: a root folder standing in for /, stand-ins for the
 * commands that touch the kernel or the network (mount, blkid, iptables, docker), and the real scripts.
 */
function vm(name: string, release: { tag: string; commit: string }) {
  const root = path.join(work, name);
  const bin = new StandIns(path.join(root, "bin"));
  const mounted = path.join(root, "mounted");
  bin
    .raw("mountpoint", `[ -f "${mounted}" ]`)
    .raw("blkid", "echo ext4")
    .logged("mount", `touch "${mounted}"`)
    .raw("sleep", "exit 0")
    .logged("iptables", '[ "$1" != -C ]')
    .logged("docker", "exit 0")
    .raw("chown", "exit 0");
  mkdirSync(path.join(root, "opt/jitsi"), { recursive: true });
  mkdirSync(path.join(root, "dev/disk/by-id"), { recursive: true });
  const unit = jitsiMeetUnit({
    domain: "meet.example.com",
    release,
    stateDevice: DEVICE,
    extraComposeFiles: [],
  });
  /** The unit's own lines, pointed at this root: the scripts from infra/vm, the rest through the stand-ins. */
  const lines = (key: string) =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => {
      let line = m[1]!;
      for (const script of Object.values(VM_SCRIPTS))
        line = line.replace(script.path, `sh ${path.resolve("infra/vm", script.source)}`);
      return line
        .replace("/usr/bin/docker", "docker")
        .replace(JITSI_RELEASE.repository, upstream)
        .replaceAll("/opt/jitsi", `${root}/opt/jitsi`)
        .replace(DEVICE, `${root}${DEVICE}`);
    });
  const environment = Object.fromEntries(
    lines("Environment").map((e) => e.replace(/^"|"$/g, "").split("=") as [string, string]),
  );
  /**
   * One start, as systemd runs a oneshot unit: each ExecStartPre, then ExecStart, stopping at the first
   * failure. Returns the exit code and whether the unit's Restart= policy would start it again.
   */
  function start(): { code: number; restart: boolean; stderr: string } {
    for (const line of [...lines("ExecStartPre"), ...lines("ExecStart")]) {
      const [command, ...args] = line.split(" ");
      const result = spawnSync(command!, args, {
        cwd: path.join(root, "opt/jitsi"),
        encoding: "utf8",
        env: bin.env({ ...environment, FSTAB: path.join(root, "fstab"), FETCH_RETRY_SECONDS: "0" }),
      });
      if (result.status !== 0) {
        const code = result.status ?? 1;
        const prevented = /^RestartPreventExitStatus=(.*)$/m.exec(unit)![1]!.split(" ").map(Number);
        const onFailure = /^Restart=on-failure$/m.test(unit);
        return { code, restart: onFailure && !prevented.includes(code), stderr: result.stderr };
      }
    }
    return { code: 0, restart: false, stderr: "" };
  }
  return {
    start,
    attachVolume: () => writeFileSync(path.join(root, DEVICE), ""),
    calls: () => readFileSync(bin.log, "utf8"),
    root,
  };
}

describe("a failed first boot heals: jitsi-meet.service's start path, retried as systemd would", () => {
  it("waits out a late volume and an unreachable release, then starts the stack once", () => {
    const v = vm("heals", { tag: "stable-1", commit });
    writeFileSync(path.join(v.root, "opt/jitsi/.env"), "AUTH_TYPE=jwt\n");

    // Try 1: Hetzner has not attached the volume yet.
    const first = v.start();
    expect(first).toMatchObject({ code: 1, restart: true });
    expect(first.stderr).toContain("is not attached after 60 s");

    // Try 2: the volume is there, but the release cannot be fetched (a network blip).
    v.attachVolume();
    renameSync(upstream, `${upstream}.away`);
    let second;
    try {
      second = v.start();
    } finally {
      renameSync(`${upstream}.away`, upstream);
    }
    expect(second).toMatchObject({ code: 1, restart: true });
    expect(second.stderr).toContain("could not fetch tag stable-1");
    expect(v.calls()).not.toMatch(/^docker compose .* up/m);

    // Try 3: everything answers: the stack starts, behind the metadata block.
    expect(v.start()).toMatchObject({ code: 0, restart: false });
    const calls = v.calls().split("\n");
    const block = calls.findIndex((c) =>
      c.startsWith("iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP"),
    );
    const up = calls.findIndex((c) => c === "docker compose -f docker-compose.yml up -d --remove-orphans");
    expect(block).toBeGreaterThan(-1);
    expect(up).toBeGreaterThan(block);
    expect(git(path.join(v.root, "opt/jitsi"), "rev-parse", "HEAD")).toBe(commit);
    expect(existsSync(path.join(v.root, "opt/jitsi/state/config/web"))).toBe(true);
  });

  it("stops retrying when the tag does not resolve to the pinned commit", () => {
    const v = vm("refused", { tag: "stable-1", commit: "0".repeat(40) });
    v.attachVolume();
    const result = v.start();
    expect(result).toMatchObject({ code: REFUSED_EXIT_CODE, restart: false });
    expect(result.stderr).toContain(`refusing to start: tag stable-1 resolves to ${commit}`);
    expect(v.calls()).not.toMatch(/^docker compose .* up/m);
  });
});
