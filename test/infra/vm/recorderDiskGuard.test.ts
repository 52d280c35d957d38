import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { jibriHealth } from "../../helpers/jitsiApi";

/**
 * infra/vm/recorder-disk-guard.sh on a real, really full disk (a 16 MiB tmpfs). Docker cannot run here,
 * so the compose command it drives is a script that records its calls and plays Jibri's state (running
 * or not, and what its health API answers).
 */
const SCRIPT = path.resolve(__dirname, "../../../infra/vm/recorder-disk-guard.sh");
let work: string;
afterEach(() => {
  spawnSync("umount", [path.join(work, "disk")], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
});

function setup(busy: boolean, running = true) {
  work = mkdtempSync(path.join(tmpdir(), "disk-guard-"));
  const disk = path.join(work, "disk");
  mkdirSync(disk);
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", disk], { encoding: "utf8" });
  expect(mount.status, `mount a tmpfs (needs root): ${mount.stderr}`).toBe(0);
  const calls = path.join(work, "calls");
  const compose = path.join(work, "compose");
  writeFileSync(
    compose,
    [
      "#!/bin/sh",
      `echo "$*" >> ${JSON.stringify(calls)}`,
      'case "$1" in',
      `  ps) ${running ? "echo jibri" : "true"} ;;`,
      `  exec) echo '${jibriHealth(busy ? "BUSY" : "IDLE", "HEALTHY")}' ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(compose, 0o755);
  const pause = path.join(work, "paused");
  const guard = (minMb: number) =>
    spawnSync("sh", [SCRIPT, disk, String(minMb), pause, compose], { encoding: "utf8" });
  const fill = (mb: number) =>
    spawnSync("dd", ["if=/dev/zero", `of=${path.join(disk, "recording.mp4")}`, "bs=1M", `count=${mb}`], {
      stdio: "ignore",
    });
  const called = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
  return { disk, pause, guard, fill, called };
}

describe("the recorder's disk guard", () => {
  it("stops an idle Jibri when the disk runs low, so no new recording starts, and starts it again once space is back", () => {
    const { disk, pause, guard, fill, called } = setup(false);
    fill(12);
    const low = guard(8);
    expect(low.stderr).toMatch(/[0-9]+ MB free \(< 8 MB\); stopping Jibri/);
    expect(low.status).toBe(0);
    expect(called()).toContain("stop jibri");
    expect(existsSync(pause)).toBe(true);

    // Uploads free the disk.
    rmSync(path.join(disk, "recording.mp4"));
    const again = guard(8);
    expect(again.status).toBe(0);
    expect(called().at(-1)).toBe("start jibri");
    expect(existsSync(pause)).toBe(false);
  });

  it("lets a Jibri that is recording finish its meeting", () => {
    const { guard, fill, called } = setup(true);
    fill(12);
    const result = guard(8);
    expect(result.stderr).toContain("Jibri is recording, it stops taking recordings once that ends");
    expect(called()).not.toContain("stop jibri");
  });

  it("does nothing with enough space, and never starts a Jibri it did not stop", () => {
    const { guard, called } = setup(false, false);
    expect(guard(8).status).toBe(0);
    expect(called()).toEqual([]);
  });
});
