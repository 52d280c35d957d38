import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import { Readable } from "node:stream";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runBackup } from "../../scripts/lib/backup";
import { manifestPathFor } from "../../scripts/lib/manifest";
import { runRestore, type RestoreOptions } from "../../scripts/lib/restore";
import { sha256File } from "../../scripts/lib/archive";
import { remoteScript, runRemoteScript } from "../../scripts/lib/ssh";
import { runMain } from "../../scripts/lib/cli";
import { restoreMain } from "../../scripts/restore";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";
import { makeFakeVm, type FakeVm } from "../helpers/jitsi-server";
import {
  type CraftedEntry,
  craftBackup,
  OWNED,
  snapshot,
  TRANSIENT,
  withoutTransient,
} from "../helpers/jitsi-tree";
import { startSshd, type SshdFixture } from "../helpers/sshd";

let sshd: SshdFixture;
let vm: FakeVm;
let backups: string;
let archive: string;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

beforeEach(async () => {
  vm = makeFakeVm(sshd);
  backups = mkdtempSync(path.join(os.tmpdir(), "jitsi-backups-"));
  const result = await runBackup(
    { stack: "dev", target: vm.target, backupsDir: backups, keep: 5 },
    { io: captureIo().io, now: () => new Date("2025-06-01T12:30:05Z") },
  );
  archive = result.archive;
});
afterEach(() => {
  vm.remove();
  rmSync(backups, { recursive: true, force: true });
});

/** The arguments that run the VM's restore.sh on this test's archive, as restore.ts sends them over SSH. */
function restoreShArgs(): string[] {
  const manifest = JSON.parse(readFileSync(manifestPathFor(archive), "utf8")) as { sha256: string };
  return [
    "-c",
    remoteScript("restore.sh"),
    "restore.sh",
    "restore",
    vm.jitsiDir,
    manifest.sha256,
    "STAMP",
    vm.control,
  ];
}

/** Runs restore.sh under dash (Ubuntu's /bin/sh) with the archive on stdin and stand-ins from `shims` first on PATH. */
function runRestoreSh(shims: string) {
  return spawnSync("dash", restoreShArgs(), {
    input: readFileSync(archive),
    env: { ...process.env, PATH: `${shims}:${process.env.PATH}` },
    encoding: "utf8",
  });
}

/** A folder holding an `mv` stand-in with the given shell lines (they get the real mv's path), for PATH. */
function mvStandIn(lines: (realMv: string) => string[]): string {
  const shims = path.join(vm.root, "shims");
  mkdirSync(shims);
  const realMv = execFileSync("sh", ["-c", "command -v mv"], { encoding: "utf8" }).trim();
  writeFileSync(path.join(shims, "mv"), ["#!/bin/sh", ...lines(realMv), ""].join("\n"), { mode: 0o755 });
  return shims;
}

function options(overrides: Partial<RestoreOptions> = {}): RestoreOptions {
  return {
    stack: "dev",
    target: vm.target,
    archive,
    manifest: manifestPathFor(archive),
    dryRun: false,
    control: vm.control,
    allowOtherStack: false,
    ...overrides,
  };
}

/** Changes the live directory the way a bad edit would, so a restore has something to undo. */
function damageLiveTree() {
  writeFileSync(path.join(vm.jitsiDir, ".env"), "JWT_APP_SECRET=changed\n");
  rmSync(path.join(vm.jitsiDir, "config/web/acme-certs"), { recursive: true });
  writeFileSync(path.join(vm.jitsiDir, "config/web/new-file"), "added after the backup\n");
  chmodSync(path.join(vm.jitsiDir, "gen-passwords.sh"), 0o600);
}

const restoreAt = new Date("2025-06-02T08:00:00Z");

describe("restore", () => {
  it("gives back a byte-identical tree with modes and numeric owners kept, and keeps the replaced directory aside", async () => {
    const original = snapshot(vm.jitsiDir);
    expect(original).toHaveProperty(["config/jibri/logs/recorder-0.txt"]);
    // The tests run as root (as restore does on the VM), so the fixture holds uid 1000 and 1001:1002 entries.
    expect(process.getuid?.()).toBe(0);
    const owners = (tree: Record<string, { uid: number; gid: number }>) =>
      Object.keys(OWNED).map((rel) => [rel, tree[rel]?.uid, tree[rel]?.gid]);
    const expectedOwners = Object.entries(OWNED).map(([rel, [uid, gid]]) => [rel, uid, gid]);
    expect(owners(original)).toEqual(expectedOwners);
    damageLiveTree();
    // A bad edit as root also takes a container's file over; the restore gives it back to uid 1000.
    execFileSync("chown", ["0:0", path.join(vm.jitsiDir, "config/web/acme/account.json")]);
    const damaged = snapshot(vm.jitsiDir);
    const { io, out } = captureIo();

    const result = await runRestore(options(), { io, now: () => restoreAt });

    expect(snapshot(vm.jitsiDir)).toEqual(withoutTransient(original));
    expect(owners(snapshot(vm.jitsiDir))).toEqual(expectedOwners);
    for (const rel of TRANSIENT) expect(snapshot(vm.jitsiDir)).not.toHaveProperty([rel]);
    expect(result.aside).toBe(`${vm.opt}/jitsi.before-restore-2025-06-02T08-00-00Z`);
    expect(snapshot(result.aside!)).toEqual(damaged);
    expect(vm.calls()).toEqual(["stop", "start"]);
    expect(readdirSync(vm.opt).sort()).toEqual(["jitsi", "jitsi.before-restore-2025-06-02T08-00-00Z"]);
    expect(out.join("\n")).toContain("The previous directory is kept at");
  });

  it("dry run checks the archive on the VM and changes nothing there", async () => {
    const before = snapshot(vm.opt);
    const { io, out } = captureIo();
    await runRestore(options({ dryRun: true }), { io, now: () => restoreAt });
    expect(snapshot(vm.opt)).toEqual(before);
    expect(vm.calls()).toEqual([]);
    expect(out.join("\n")).toContain("Nothing was changed");
  });

  describe("refuses a damaged backup, names the reason, and leaves the server untouched", () => {
    async function expectRefusal(reason: RegExp, overrides: Partial<RestoreOptions> = {}) {
      damageLiveTree();
      const before = snapshot(vm.opt);
      await expect(
        runRestore(options(overrides), { io: captureIo().io, now: () => restoreAt }),
      ).rejects.toThrow(reason);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    }

    it("a corrupted archive (bytes changed in the middle)", async () => {
      const bytes = readFileSync(archive);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      writeFileSync(archive, bytes);
      await expectRefusal(/sha256 is [0-9a-f]{64} but the manifest says/);
    });

    it("a manifest whose checksum does not match the archive", async () => {
      const manifestFile = manifestPathFor(archive);
      const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
      manifest.sha256 = "0".repeat(64);
      writeFileSync(manifestFile, JSON.stringify(manifest));
      await expectRefusal(/manifest says 0{64}/);
    });

    it("a truncated download (archive cut short)", async () => {
      truncateSync(archive, Math.floor(readFileSync(archive).length * 0.6));
      await expectRefusal(/bytes but the manifest says \d+ \(cut short or altered\).*unexpected end of file/);
    });

    it("an archive with bytes appended", async () => {
      appendFileSync(archive, "extra");
      await expectRefusal(/bytes but the manifest says/);
    });

    it("a missing manifest", async () => {
      rmSync(manifestPathFor(archive));
      await expectRefusal(/manifest .* is unusable \(it does not exist\)/);
    });

    it("a manifest that is not JSON", async () => {
      writeFileSync(manifestPathFor(archive), "{ not json");
      await expectRefusal(/unusable \(it is not JSON\)/);
    });

    it("a manifest with a wrong field", async () => {
      const manifestFile = manifestPathFor(archive);
      const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
      manifest.size = "big";
      writeFileSync(manifestFile, JSON.stringify(manifest));
      await expectRefusal(/field 'size' is wrong/);
    });

    it("a backup of another stack, unless allowed", async () => {
      await expectRefusal(/made from stack 'dev', not 'prod'.*--allow-other-stack/, { stack: "prod" });
    });

    it("an upload that arrives damaged is refused by the VM's own checksum", async () => {
      const before = snapshot(vm.opt);
      const remote = runRemoteScript(
        vm.target,
        "restore.sh",
        ["restore", vm.jitsiDir, "a".repeat(64), "2025-06-02T08-00-00Z", vm.control],
        { stdin: Readable.from([readFileSync(archive).subarray(0, 5000)]) },
      );
      const result = await remote.done;
      expect(result.exitCode).toBe(3);
      expect(result.stderrTail.join("\n")).toMatch(/sha256 is [0-9a-f]{64}, not a{64}.*nothing was changed/);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });
  });

  describe("refuses links out of the directory and special files, naming them, and changes nothing", () => {
    const hostile: [string, CraftedEntry, RegExp][] = [
      [
        "a symlink to an absolute path",
        { path: "./config/evil", type: "SymbolicLink", linkpath: "/tmp/x" },
        /\.\/config\/evil -> \/tmp\/x/,
      ],
      [
        "a symlink that climbs out",
        { path: "./config/web/up", type: "SymbolicLink", linkpath: "../../../.." },
        /\.\/config\/web\/up -> \.\.\/\.\.\/\.\.\/\.\./,
      ],
      [
        "a hard link to ../../etc/passwd",
        { path: "./config/passwd", type: "Link", linkpath: "../../etc/passwd" },
        /\.\/config\/passwd link to \.\.\/\.\.\/etc\/passwd/,
      ],
      ["a FIFO", { path: "./config/pipe", type: "FIFO" }, /\.\/config\/pipe/],
      ["a character device", { path: "./config/null", type: "CharacterDevice" }, /\.\/config\/null/],
    ];

    async function hostileBackup(entry: CraftedEntry) {
      const file = path.join(backups, "dev", "2025-06-03T00-00-00Z.tar.gz");
      const manifest = await craftBackup(vm.jitsiDir, [entry], file);
      return { file, manifest };
    }

    it.each(hostile)("restore refuses %s before uploading", async (_what, entry, named) => {
      const { file, manifest } = await hostileBackup(entry);
      damageLiveTree();
      const before = snapshot(vm.opt);
      const attempt = runRestore(options({ archive: file, manifest }), {
        io: captureIo().io,
        now: () => restoreAt,
      });
      await expect(attempt).rejects.toThrow(/links or special files that could reach outside the directory/);
      await expect(attempt).rejects.toThrow(named);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it.each(hostile)("the VM's restore.sh refuses %s on its own", async (_what, entry, named) => {
      const { file } = await hostileBackup(entry);
      damageLiveTree();
      const before = snapshot(vm.opt);
      const remote = runRemoteScript(
        vm.target,
        "restore.sh",
        ["restore", vm.jitsiDir, await sha256File(file), "2025-06-02T08-00-00Z", vm.control],
        { stdin: Readable.from([readFileSync(file)]) },
      );
      const result = await remote.done;
      expect(result.exitCode).toBe(3);
      const said = result.stderrTail.join("\n");
      expect(said).toMatch(/links or special files that could reach outside the directory/);
      expect(said).toMatch(named);
      expect(said).toMatch(/nothing was changed/);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });
  });

  describe("a backup from before a JWT secret rotation", () => {
    const stackSecret = "rotated-secret-0123456789abcdef-never-printed";

    it("is refused before anything is uploaded, naming --allow-secret-mismatch, and no secret is printed", async () => {
      damageLiveTree();
      const before = snapshot(vm.opt);
      const capture = captureIo();
      const attempt = runRestore(options({ stackJwtSecret: stackSecret }), {
        io: capture.io,
        now: () => restoreAt,
      });
      await expect(attempt).rejects.toThrow(
        /\.env holds a different JWT_APP_SECRET than stack 'dev' \(its jwtAppSecret output\).*"Invalid signature".*--allow-secret-mismatch/,
      );
      const message = await attempt.catch((error: Error) => error.message);
      expect(`${message}\n${capture.text()}`).not.toMatch(/not-a-real-secret|rotated-secret/);
      expect(capture.err.join("\n")).not.toContain("Restoring to");
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it("is refused when the backup's .env holds no JWT_APP_SECRET at all", async () => {
      writeFileSync(path.join(vm.jitsiDir, ".env"), "CONFIG=/opt/jitsi/state/config\n", { mode: 0o600 });
      const result = await runBackup(
        { stack: "dev", target: vm.target, backupsDir: backups, keep: 5 },
        { io: captureIo().io, now: () => new Date("2025-06-01T13:00:00Z") },
      );
      await expect(
        runRestore(
          options({
            archive: result.archive,
            manifest: manifestPathFor(result.archive),
            stackJwtSecret: stackSecret,
          }),
          {
            io: captureIo().io,
            now: () => restoreAt,
          },
        ),
      ).rejects.toThrow(/\.env holds no JWT_APP_SECRET.*--allow-secret-mismatch/);
      expect(vm.calls()).toEqual([]);
    });

    it("restores when the secret matches the stack's", async () => {
      const capture = captureIo();
      await runRestore(options({ stackJwtSecret: "not-a-real-secret" }), {
        io: capture.io,
        now: () => restoreAt,
      });
      expect(vm.calls()).toEqual(["stop", "start"]);
      expect(capture.err.join("\n")).toContain("the backup's JWT_APP_SECRET matches the stack's");
    });

    it("restores anyway with --allow-secret-mismatch, saying so", async () => {
      const original = snapshot(vm.jitsiDir);
      damageLiveTree();
      const capture = captureIo();
      await runRestore(options({ stackJwtSecret: stackSecret, allowSecretMismatch: true }), {
        io: capture.io,
        now: () => restoreAt,
      });
      expect(snapshot(vm.jitsiDir)).toEqual(withoutTransient(original));
      expect(capture.err.join("\n")).toMatch(
        /differs from the stack's.*going ahead \(--allow-secret-mismatch\)/,
      );
      expect(capture.text()).not.toMatch(/not-a-real-secret|rotated-secret/);
    });

    it("says the check is skipped when there are no stack outputs (explicit target)", async () => {
      const capture = captureIo();
      await runRestore(options({ dryRun: true }), { io: capture.io, now: () => restoreAt });
      expect(capture.err.join("\n")).toContain(
        "Not comparing the backup's JWT_APP_SECRET with the stack's: there are no stack outputs with --host.",
      );
    });

    it("the CLI refuses, exit 1, with the secret from the stack outputs", async () => {
      const pulumi = fakePulumi({ outputs: sampleOutputs() });
      const capture = captureIo();
      const code = await runMain(
        () => restoreMain(["--stack", "dev", "--from", archive], capture.io, pulumi.run),
        capture.io,
      );
      expect(code).toBe(1);
      expect(capture.err.join("\n")).toMatch(/different JWT_APP_SECRET.*--allow-secret-mismatch/);
      expect(capture.text()).not.toContain(sampleOutputs().jwtAppSecret);
      expect(pulumi.calls).toEqual(["pulumi stack output --json --show-secrets --stack dev"]);
    });
  });

  describe("rolls back a failure partway through", () => {
    it("puts the previous directory back and starts it when the restored stack fails to start", async () => {
      damageLiveTree();
      const damaged = snapshot(vm.jitsiDir);
      vm.failNext("start");
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /failed and was rolled back: the previous directory is back at .* and the stack was started again/,
      );
      expect(snapshot(vm.jitsiDir)).toEqual(damaged);
      expect(vm.calls()).toEqual(["stop", "start", "stop", "start"]);
      expect(readdirSync(vm.opt)).toEqual(["jitsi"]);
    });

    it("says RESTORE FAILED AND THE ROLLBACK FAILED (exit 1) and what to do by hand when the previous directory will not start either", async () => {
      damageLiveTree();
      const damaged = snapshot(vm.jitsiDir);
      vm.failNext("start", 2); // the restored stack fails to start, and so does the previous one
      const capture = captureIo();
      const code = await runMain(
        () =>
          restoreMain(
            ["--stack", "dev", "--from", archive, ...vm.targetFlags, "--control", vm.control],
            capture.io,
            fakePulumi({}).run,
          ),
        capture.io,
      );
      expect(code).toBe(1);
      const said = capture.err.join("\n");
      expect(said).toContain(
        `RESTORE FAILED AND THE ROLLBACK FAILED: the previous directory is back at ${vm.jitsiDir} but starting it failed: check 'systemctl status jitsi-meet'. Act now: the stack may be down.`,
      );
      expect(said).not.toContain("was rolled back");
      expect(vm.calls()).toEqual(["stop", "start", "stop", "start"]);
      // The previous directory is back in place; the restored tree went with the staging folder.
      expect(snapshot(vm.jitsiDir)).toEqual(damaged);
      expect(readdirSync(vm.opt)).toEqual(["jitsi"]);
    });

    describe("when a rollback move fails, restore.sh exits 5 and says where the previous directory is", () => {
      /** Runs restore.sh under dash with an `mv` that fails when moving FROM to a path matching TO. */
      function restoreWithFailingMv(from: string, to: string) {
        const shims = mvStandIn((realMv) => [
          `case "$2|$3" in '${from}|'${to}) echo "mv: stand-in failure" >&2; exit 1 ;; esac`,
          `exec '${realMv}' "$@"`,
        ]);
        vm.failNext("start"); // the restored stack fails to start, which starts the rollback
        return runRestoreSh(shims);
      }

      it("the restored tree cannot be moved away: the previous directory waits at the aside path", () => {
        const original = snapshot(vm.jitsiDir);
        damageLiveTree();
        const damaged = snapshot(vm.jitsiDir);
        const aside = `${vm.jitsiDir}.before-restore-STAMP`;
        const result = restoreWithFailingMv(vm.jitsiDir, "*/failed-tree");
        expect(result.status).toBe(5);
        expect(result.stderr).toContain(
          `restore: cannot move ${vm.jitsiDir} away; the previous directory is at ${aside}: move it back by hand and start the stack`,
        );
        expect(snapshot(aside)).toEqual(damaged);
        expect(snapshot(vm.jitsiDir)).toEqual(withoutTransient(original));
        expect(readdirSync(vm.opt).sort()).toEqual(["jitsi", "jitsi.before-restore-STAMP"]);
        expect(vm.calls()).toEqual(["stop", "start", "stop"]);
      });

      it("the previous directory cannot be moved back: it waits at the aside path, the directory is gone", () => {
        damageLiveTree();
        const damaged = snapshot(vm.jitsiDir);
        const aside = `${vm.jitsiDir}.before-restore-STAMP`;
        const result = restoreWithFailingMv(aside, `'${vm.jitsiDir}'`);
        expect(result.status).toBe(5);
        expect(result.stderr).toContain(
          `restore: cannot move ${aside} back to ${vm.jitsiDir}: do it by hand and start the stack`,
        );
        expect(snapshot(aside)).toEqual(damaged);
        expect(readdirSync(vm.opt)).toEqual(["jitsi.before-restore-STAMP"]);
        expect(vm.calls()).toEqual(["stop", "start", "stop"]);
      });
    });

    it("rolls back, keeping what appeared, when something recreates the directory before the restored tree moves in", async () => {
      damageLiveTree();
      const damaged = snapshot(vm.jitsiDir);
      // A stand-in for a stray process: right after the live directory is moved aside, `mv` recreates it.
      const shims = mvStandIn((realMv) => [
        `'${realMv}' "$@" || exit`,
        "for last do :; done",
        `case $last in '${vm.jitsiDir}'.before-restore-*) mkdir '${vm.jitsiDir}' && echo stray > '${vm.jitsiDir}/made-by-another-process' ;; esac`,
      ]);
      const result = runRestoreSh(shims);
      expect(result.stderr).toMatch(
        /appeared again after it was moved aside; what appeared is kept at .*jitsi\.appeared-during-restore-STAMP; rolling back/,
      );
      expect(result.status).toBe(4);
      expect(snapshot(vm.jitsiDir)).toEqual(damaged);
      expect(readdirSync(path.join(vm.opt, "jitsi.appeared-during-restore-STAMP"))).toEqual([
        "made-by-another-process",
      ]);
      expect(readdirSync(vm.opt).sort()).toEqual(["jitsi", "jitsi.appeared-during-restore-STAMP"]);
      expect(vm.calls()).toEqual(["stop", "stop", "start"]);
    });

    it("removes the staging folder (it holds secrets) when the SSH connection drops under dash", () => {
      // Like sshd after a dropped connection: the script's stderr is a pipe nobody reads any more.
      const result = spawnSync(
        "/usr/bin/python3",
        [
          "-c",
          "import os, subprocess, sys\n" +
            "r, w = os.pipe(); os.close(r)\n" +
            "sys.exit(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stderr=w).returncode)",
          "dash",
          ...restoreShArgs(),
        ],
        { encoding: "utf8" },
      );
      expect(result.status).toBe(3);
      expect(readdirSync(vm.opt)).toEqual(["jitsi"]);
      expect(vm.calls()).toEqual([]);
    });

    it("changes nothing when the stack cannot be stopped", async () => {
      damageLiveTree();
      const before = snapshot(vm.opt);
      vm.failNext("stop");
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /refused on the VM: stopping the stack failed .*nothing was changed/,
      );
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual(["stop", "start"]);
    });

    it("refuses when the directory to restore does not exist on the VM", async () => {
      const target = { ...vm.target, jitsiDir: path.join(vm.opt, "missing") };
      await expect(
        runRestore(options({ target }), { io: captureIo().io, now: () => restoreAt }),
      ).rejects.toThrow(/missing does not exist on .*nothing was changed/);
      expect(vm.calls()).toEqual([]);
    });
  });
});
