import {
  appendFileSync,
  chmodSync,
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
import { runRemoteScript } from "../../scripts/lib/ssh";
import { captureIo } from "../helpers/io";
import { makeFakeVm, type FakeVm } from "../helpers/jitsi-server";
import { snapshot, TRANSIENT, withoutTransient } from "../helpers/jitsi-tree";
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
  it("gives back a byte-identical tree with modes kept, and keeps the replaced directory aside", async () => {
    const original = snapshot(vm.jitsiDir);
    expect(original).toHaveProperty(["config/jibri/logs/recorder-0.txt"]);
    damageLiveTree();
    const damaged = snapshot(vm.jitsiDir);
    const { io, out } = captureIo();

    const result = await runRestore(options(), { io, now: () => restoreAt });

    expect(snapshot(vm.jitsiDir)).toEqual(withoutTransient(original));
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
