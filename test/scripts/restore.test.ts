import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { Readable } from "node:stream";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runBackup } from "../../scripts/lib/backup/backup";
import { manifestPathFor } from "../../scripts/lib/archive/manifest";
import { runRestore, type RestoreOptions } from "../../scripts/lib/restore/restore";
import { sha256File } from "../../scripts/lib/archive/archive";
import { remoteScript, runRemoteScript } from "../../scripts/lib/shared/ssh";
import { runMain } from "../../scripts/lib/shared/cli";
import { restoreMain } from "../../scripts/restore";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";
import { makeFakeVm, type FakeVm } from "../helpers/jitsi-server";
import {
  craftBackup,
  type CraftedEntry,
  craftFormat1Backup,
  DATA,
  ENV_SECRETS,
  ENV_TEXT,
  OWNED,
  outsideState,
  RELEASE,
  releaseFileText,
  snapshot,
  TRANSIENT,
  withoutTransient,
} from "../helpers/jitsi-tree";
import { scratchDir } from "../helpers/scratch";
import { startSshd, type SshdFixture } from "../helpers/sshd";

let sshd: SshdFixture;
let vm: FakeVm;
let backups: string;
let archive: string;
/** The VM and its backups right after one real backup, copied back before every test (see beforeEach). */
let pristine: { vm: string; backups: string; archive: string };

/**
 * Makes each `to` folder a copy of its `from` with `cp -a` (owners, modes, times and links kept, as the tests
 * compare all of them), emptying it first; one process for all pairs, as this runs before every test.
 */
function copyTrees(pairs: [from: string, to: string][]) {
  const script =
    'while [ $# -gt 0 ]; do find "$2" -mindepth 1 -delete && cp -a "$1/." "$2" || exit; shift 2; done';
  execFileSync("sh", ["-c", script, "copyTrees", ...pairs.flat()]);
}

beforeAll(async () => {
  sshd = await startSshd();
  // One real backup over SSH for the file; every test starts from a copy of the VM and the backup it
  // made, at the same paths, which is what a backup made in each test would give (only slower).
  vm = makeFakeVm(sshd);
  backups = scratchDir("jitsi-backups-");
  const result = await runBackup(
    { stack: "dev", target: vm.target, backupsDir: backups, keep: 5 },
    { io: captureIo().io, now: () => new Date("2025-06-01T12:30:05Z") },
  );
  pristine = {
    vm: scratchDir("jitsi-vm-pristine-"),
    backups: scratchDir("jitsi-backups-pristine-"),
    archive: result.archive,
  };
  copyTrees([
    [vm.root, pristine.vm],
    [backups, pristine.backups],
  ]);
});
afterAll(async () => {
  await sshd?.stop();
  vm?.remove();
  for (const dir of [pristine?.vm, pristine?.backups, backups]) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

beforeEach(() => {
  copyTrees([
    [pristine.vm, vm.root],
    [pristine.backups, backups],
  ]);
  archive = pristine.archive;
});

/** The arguments that run the VM's restore.sh on this test's archive, as restore.ts sends them over SSH. */
function restoreShArgs(mode = "restore"): string[] {
  const manifest = JSON.parse(readFileSync(manifestPathFor(archive), "utf8")) as { sha256: string };
  return [
    "-c",
    remoteScript("restore.sh"),
    "restore.sh",
    mode,
    vm.jitsiDir,
    DATA,
    manifest.sha256,
    "STAMP",
    vm.control,
    "refuse",
    RELEASE.tag,
    RELEASE.commit,
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

const inData = (rel: string) => path.join(vm.configDir, rel);

/** Changes the live data the way a bad edit would, so a restore has something to undo. */
function damageLiveData() {
  rmSync(inData("web/acme-certs"), { recursive: true });
  writeFileSync(inData("web/new-file"), "added after the backup\n");
  writeFileSync(inData("web/empty-file"), "not empty any more\n");
  chmodSync(inData("jigasi/group-writable.conf"), 0o600);
  // A bad edit as root also takes a container's file over; the restore gives it back to uid 1000.
  chownSync(inData("web/acme/account.json"), 0, 0);
}

/** Secret values of the settings after the change: no output may show them either. */
const NEW_SECRETS = [
  "rotated-jwt-secret-after-the-backup-91c2",
  "rotated-jicofo-password-after-the-backup-5d0e",
];
const NEW_IPS = "198.51.100.77,2001:db8::77";

/**
 * What `pulumi up` with changed settings leaves on a VM: cloud-init writes a new .env. The lobby is on, the
 * secrets were rotated, the guests switch is gone and the bridge advertises addresses it did not before.
 */
function changeSettings(): Buffer {
  const text = ENV_TEXT.replace("ENABLE_LOBBY=0", "ENABLE_LOBBY=1")
    .replace(ENV_SECRETS[0]!, NEW_SECRETS[0]!)
    .replace(ENV_SECRETS[1]!, NEW_SECRETS[1]!)
    .replace("ENABLE_GUESTS=0\n", "")
    .concat(`JVB_ADVERTISE_IPS=${NEW_IPS}\n`);
  writeFileSync(path.join(vm.jitsiDir, ".env"), text, { mode: 0o600 });
  return readFileSync(path.join(vm.jitsiDir, ".env"));
}

/** No secret, old or new, and no value of a changed setting appears in anything a script printed. */
function expectNoValues(text: string) {
  for (const value of [...ENV_SECRETS, ...NEW_SECRETS, NEW_IPS]) expect(text).not.toContain(value);
}

const restoreAt = new Date("2025-06-02T08:00:00Z");
const asideName = "config.before-restore-2025-06-02T08-00-00Z";
const otherRelease = { tag: "stable-12000", commit: "a".repeat(40) };

describe("restore", () => {
  it("puts back state/config byte-identical to the backup, with modes and numeric owners, and keeps the replaced data aside", async () => {
    const original = snapshot(vm.configDir);
    expect(original).toHaveProperty(["jibri/logs/recorder-0.txt"]);
    // The tests run as root (as restore does on the VM), so the fixture holds uid 1000 and 1001:1002 entries.
    expect(process.getuid?.()).toBe(0);
    const owners = (tree: Record<string, { uid: number; gid: number }>) =>
      Object.keys(OWNED).map((rel) => [rel, tree[rel]?.uid, tree[rel]?.gid]);
    const expectedOwners = Object.entries(OWNED).map(([rel, [uid, gid]]) => [rel, uid, gid]);
    expect(owners(original)).toEqual(expectedOwners);
    damageLiveData();
    const damaged = snapshot(vm.configDir);
    const outside = outsideState(snapshot(vm.jitsiDir));
    const lostFound = snapshot(path.join(vm.stateDir, "lost+found"));
    const { io, out } = captureIo();

    const result = await runRestore(options(), { io, now: () => restoreAt });

    const restored = snapshot(vm.configDir);
    expect(restored).toEqual(withoutTransient(original));
    expect(owners(restored)).toEqual(expectedOwners);
    for (const rel of TRANSIENT) expect(restored).not.toHaveProperty([rel]);
    expect(result.aside).toBe(`${vm.stateDir}/${asideName}`);
    expect(snapshot(result.aside!)).toEqual(damaged);
    // .env, the release file, the checkout and managed-config: byte for byte, mode and owner as they were.
    expect(outsideState(snapshot(vm.jitsiDir))).toEqual(outside);
    expect(snapshot(path.join(vm.stateDir, "lost+found"))).toEqual(lostFound);
    expect(vm.calls()).toEqual(["stop", "start"]);
    expect(readdirSync(vm.stateDir).sort()).toEqual(["config", asideName, "lost+found"]);
    expect(readdirSync(vm.opt)).toEqual(["jitsi"]);
    expect(out.join("\n")).toContain(`The previous data is kept at ${vm.stateDir}/${asideName}`);
    expect(out.join("\n")).toContain(`Not changed: ${vm.jitsiDir}/.env and .jitsi-stack-release.json`);
  });

  it("back up, change a setting, restore: the change survives, and the restore names the settings that differ, never their values", async () => {
    // The backup was made in beforeEach. Then the settings change, and the data gets damaged.
    const changedEnv = changeSettings();
    const original = snapshot(vm.configDir);
    damageLiveData();
    const release = readFileSync(path.join(vm.jitsiDir, ".jitsi-stack-release.json"));
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

    expect(code).toBe(0);
    expect(readFileSync(path.join(vm.jitsiDir, ".env"))).toEqual(changedEnv);
    expect(readFileSync(path.join(vm.jitsiDir, ".jitsi-stack-release.json"))).toEqual(release);
    expect(snapshot(vm.configDir)).toEqual(withoutTransient(original));
    const warning = capture.err.filter((line) => line.startsWith("Warning: the backup's .env differs"));
    expect(warning).toEqual([
      `Warning: the backup's .env differs from ${vm.jitsiDir}/.env in ENABLE_GUESTS (only in the backup), ENABLE_LOBBY (other value), JICOFO_AUTH_PASSWORD (other value), JWT_APP_SECRET (other value), JVB_ADVERTISE_IPS (only on the VM). A restore brings back data only: ${vm.jitsiDir}/.env is not changed, so the stack's current settings stay in force (change settings with 'pulumi config set' and 'pulumi up').`,
    ]);
    expectNoValues(capture.text());
  });

  it("says nothing about settings when the backup's .env is the VM's", async () => {
    const capture = captureIo();
    const result = await runRestore(options(), { io: capture.io, now: () => restoreAt });
    expect(result.facts.settings).toEqual([]);
    expect(capture.err.join("\n")).not.toContain(".env differs");
  });

  it("compares settings as docker compose reads them: last line wins, quotes, export, spaces and CRLF", async () => {
    const env = path.join(vm.jitsiDir, ".env");
    writeFileSync(
      env,
      [
        "# JWT_APP_SECRET=commented",
        "A=1",
        'B="quoted"',
        "export C=exported",
        "D=old",
        "D=new",
        "E = spaced",
        "F=same\r",
        "G='single'",
        "ONLY_BACKUP=1",
        "",
      ].join("\n"),
    );
    const result = await runBackup(
      { stack: "dev", target: vm.target, backupsDir: backups, keep: 5 },
      { io: captureIo().io, now: () => new Date("2025-06-01T13:00:00Z") },
    );
    writeFileSync(env, "A=2\nB=quoted\nC=exported\nD=new\nE=spaced\nF=same\nG=single\nONLY_VM=x\n");
    const { facts } = await runRestore(
      options({ archive: result.archive, manifest: manifestPathFor(result.archive), dryRun: true }),
      { io: captureIo().io, now: () => restoreAt },
    );
    expect(facts.settings).toEqual([
      { kind: "backup-only", name: "ONLY_BACKUP" },
      { kind: "differ", name: "A" },
      { kind: "vm-only", name: "ONLY_VM" },
    ]);
  });

  it("dry run lists what a restore would change in the data, names the settings that stay, and changes nothing", async () => {
    changeSettings();
    damageLiveData();
    rmSync(inData("web/cert-link.pem"));
    symlinkSync("acme/account.json", inData("web/cert-link.pem"));
    const before = snapshot(vm.opt);
    const capture = captureIo();

    const { facts } = await runRestore(options({ dryRun: true }), { io: capture.io, now: () => restoreAt });

    expect(snapshot(vm.opt)).toEqual(before);
    expect(vm.calls()).toEqual([]);
    const byKind = (kind: string) =>
      facts.data
        .filter((d) => d.kind === kind)
        .map((d) => (d.what ? `${d.path} (${d.what})` : d.path))
        .sort();
    expect(byKind("changed")).toEqual([
      "jigasi/group-writable.conf (mode)",
      "web/acme/account.json (owner)",
      "web/cert-link.pem (owner target)",
      "web/empty-file (content)",
    ]);
    expect(byKind("added")).toEqual([
      "web/acme-certs",
      "web/acme-certs/meet.example.com",
      "web/acme-certs/meet.example.com/fullchain.pem",
      "web/acme-certs/meet.example.com/key.pem",
    ]);
    expect(byKind("removed")).toEqual([...TRANSIENT, "web/new-file"].sort());
    const out = capture.out.join("\n");
    expect(out).toContain("Nothing was changed");
    expect(out).toContain(
      `stop the stack, move ${vm.configDir} (${facts.entries!.live} entries) to ${vm.configDir}.before-restore-<UTC time> (kept), put the backup's state/config (${facts.entries!.backup} entries) in its place, and start the stack;`,
    );
    expect(out).toContain("change the data: 4 changed, 4 added, 7 gone (what goes stays in the kept copy):");
    expect(out).toContain("    changed web/acme/account.json (owner)");
    expect(out).toContain("    added   web/acme-certs/meet.example.com/key.pem");
    expect(out).toContain("    gone    web/new-file");
    expect(out).toContain(
      `leave ${vm.jitsiDir}/.env, ${vm.jitsiDir}/.jitsi-stack-release.json and the checkout as they are (5 settings differ from the backup's, named above; the VM's stay).`,
    );
    expect(capture.err.join("\n")).toContain("Warning: the backup's .env differs");
    expectNoValues(capture.text());
  });

  it("dry run names a changed file whose name holds a newline, on one line", async () => {
    writeFileSync(inData("web/odd names/new\nline"), "changed\n");
    const capture = captureIo();
    const { facts } = await runRestore(options({ dryRun: true }), { io: capture.io, now: () => restoreAt });
    expect(facts.data.filter((d) => d.kind === "changed")).toEqual([
      { kind: "changed", what: "content", path: "web/odd names/new\nline" },
    ]);
    expect(capture.out).toContain('    changed "web/odd names/new\\nline" (content)');
  });

  it("restores when the stack outputs name the backup's release, saying they match", async () => {
    const capture = captureIo();
    await runRestore(options({ stackRelease: RELEASE }), { io: capture.io, now: () => restoreAt });
    expect(capture.err).toContain(
      `  ok: the backup was made on stable-11146-2 (${RELEASE.commit}), the release stack 'dev' runs`,
    );
    expect(vm.calls()).toEqual(["stop", "start"]);
  });

  describe("a backup made on another Jitsi release", () => {
    it("is refused before anything is uploaded when the stack outputs name another release, naming both", async () => {
      damageLiveData();
      const before = snapshot(vm.opt);
      const capture = captureIo();
      const attempt = runRestore(options({ stackRelease: otherRelease }), {
        io: capture.io,
        now: () => restoreAt,
      });
      await expect(attempt).rejects.toThrow(
        `it was made on Jitsi stable-11146-2 (${RELEASE.commit}) but stack 'dev' runs stable-12000 (${otherRelease.commit}) (its jitsiRelease and jitsiCommit outputs); restore a backup made on stable-12000, or pass --allow-release-mismatch to put this data under stable-12000 anyway. Nothing was uploaded.`,
      );
      expect(capture.err.join("\n")).not.toContain("Restoring to");
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it("is refused when only the commit differs", async () => {
      const sameTag = { tag: RELEASE.tag, commit: "b".repeat(40) };
      await expect(
        runRestore(options({ stackRelease: sameTag }), { io: captureIo().io, now: () => restoreAt }),
      ).rejects.toThrow(
        /made on Jitsi stable-11146-2 \(738058b4.*\) but stack 'dev' runs stable-11146-2 \(b{40}\)/,
      );
      expect(vm.calls()).toEqual([]);
    });

    it("is restored with --allow-release-mismatch, saying so; the release file stays", async () => {
      const original = snapshot(vm.configDir);
      damageLiveData();
      const outside = outsideState(snapshot(vm.jitsiDir));
      const capture = captureIo();
      await runRestore(options({ stackRelease: otherRelease, allowReleaseMismatch: true }), {
        io: capture.io,
        now: () => restoreAt,
      });
      expect(snapshot(vm.configDir)).toEqual(withoutTransient(original));
      expect(outsideState(snapshot(vm.jitsiDir))).toEqual(outside);
      expect(capture.err).toContain(
        `Warning: the backup was made on Jitsi stable-11146-2 (${RELEASE.commit}) but the stack runs stable-12000 (${otherRelease.commit}); restoring its data anyway (--allow-release-mismatch). The stack keeps running stable-12000 (${otherRelease.commit}).`,
      );
    });

    it("with --host, is refused by the VM, which compares with its release file and names both", async () => {
      writeFileSync(path.join(vm.jitsiDir, ".jitsi-stack-release.json"), releaseFileText(otherRelease));
      damageLiveData();
      const before = snapshot(vm.opt);
      const capture = captureIo();
      await expect(runRestore(options(), { io: capture.io, now: () => restoreAt })).rejects.toThrow(
        `Restore refused on the VM: the backup was made on Jitsi stable-11146-2 (${RELEASE.commit}) but this VM runs stable-12000 (${otherRelease.commit}) (its ${vm.jitsiDir}/.jitsi-stack-release.json); restore a backup made on that release, or pass --allow-release-mismatch; nothing was changed.`,
      );
      expect(capture.err.join("\n")).toContain(
        "Comparing the backup's release with the VM's .jitsi-stack-release.json: no stack outputs name the release",
      );
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it("with --host and --allow-release-mismatch, the VM restores the data and keeps its release file", async () => {
      const release = path.join(vm.jitsiDir, ".jitsi-stack-release.json");
      writeFileSync(release, releaseFileText(otherRelease));
      const original = snapshot(vm.configDir);
      damageLiveData();
      const capture = captureIo();
      const code = await runMain(
        () =>
          restoreMain(
            [
              "--stack",
              "dev",
              "--from",
              archive,
              ...vm.targetFlags,
              "--control",
              vm.control,
              "--allow-release-mismatch",
            ],
            capture.io,
            fakePulumi({}).run,
          ),
        capture.io,
      );
      expect(code).toBe(0);
      expect(snapshot(vm.configDir)).toEqual(withoutTransient(original));
      expect(readFileSync(release, "utf8")).toBe(releaseFileText(otherRelease));
      expect(capture.err.join("\n")).toContain(
        `Warning: the backup was made on Jitsi stable-11146-2 (${RELEASE.commit}) but the stack runs stable-12000 (${otherRelease.commit}); restoring its data anyway`,
      );
    });

    it("is refused when its release is unknown, unless allowed", async () => {
      const manifestFile = manifestPathFor(archive);
      const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
      manifest.jitsiRelease = null;
      writeFileSync(manifestFile, JSON.stringify(manifest));
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /the backup was made on Jitsi an unknown release but this VM runs stable-11146-2 .*--allow-release-mismatch/,
      );
      expect(vm.calls()).toEqual([]);
      await runRestore(options({ allowReleaseMismatch: true }), { io: captureIo().io, now: () => restoreAt });
      expect(vm.calls()).toEqual(["stop", "start"]);
    });

    it("the CLI refuses, exit 1, with the release from the stack outputs", async () => {
      const pulumi = fakePulumi({
        outputs: sampleOutputs({ jitsiRelease: otherRelease.tag, jitsiCommit: otherRelease.commit }),
      });
      const capture = captureIo();
      const code = await runMain(
        () => restoreMain(["--stack", "dev", "--from", archive], capture.io, pulumi.run),
        capture.io,
      );
      expect(code).toBe(1);
      expect(capture.err.join("\n")).toMatch(
        /made on Jitsi stable-11146-2 .* but stack 'dev' runs stable-12000 .*--allow-release-mismatch/,
      );
      expect(capture.text()).not.toContain(sampleOutputs().jwtAppSecret);
      expect(pulumi.calls).toEqual(["pulumi stack output --json --show-secrets --stack dev"]);
    });
  });

  describe("a backup from before a JWT secret rotation", () => {
    it("is restored: the stack keeps its new secret, and JWT_APP_SECRET is named among the settings that differ", async () => {
      const changedEnv = changeSettings();
      const capture = captureIo();
      await runRestore(options(), { io: capture.io, now: () => restoreAt });
      expect(readFileSync(path.join(vm.jitsiDir, ".env"))).toEqual(changedEnv);
      expect(capture.err.join("\n")).toContain("JWT_APP_SECRET (other value)");
      expectNoValues(capture.text());
    });

    it("--allow-secret-mismatch is still accepted, with a note that it is deprecated and ignored", async () => {
      const capture = captureIo();
      const code = await runMain(
        () =>
          restoreMain(
            [
              "--stack",
              "dev",
              "--from",
              archive,
              ...vm.targetFlags,
              "--control",
              vm.control,
              "--allow-secret-mismatch",
            ],
            capture.io,
            fakePulumi({}).run,
          ),
        capture.io,
      );
      expect(code).toBe(0);
      expect(capture.err[0]).toBe(
        "Note: --allow-secret-mismatch is deprecated and ignored: restore no longer writes the VM's .env, so the stack's JWT secret stays as it is.",
      );
      expect(vm.calls()).toEqual(["stop", "start"]);
    });
  });

  describe("a backup in the old format (the whole Jitsi directory)", () => {
    it("is refused in one line that says what to do, before anything is uploaded", async () => {
      const file = path.join(backups, "dev", "2025-05-01T00-00-00Z.tar.gz");
      const manifest = await craftFormat1Backup(vm.jitsiDir, file);
      damageLiveData();
      const before = snapshot(vm.opt);
      const capture = captureIo();
      const code = await runMain(
        () =>
          restoreMain(
            ["--stack", "dev", "--from", file, ...vm.targetFlags, "--control", vm.control],
            capture.io,
            fakePulumi({}).run,
          ),
        capture.io,
      );
      expect(code).toBe(1);
      const message = capture.err.at(-1)!;
      expect(message).toBe(
        `Refusing ${file}: it is a jitsi-stack-backup/1 backup, which holds the whole Jitsi directory, and restoring it would bring back that time's .env and release; make a new backup with 'npm run backup', or copy its data in by hand (docs/operations.md, "Backups in the old format"). Nothing was uploaded.`,
      );
      expect(message).not.toContain("\n");
      expect(capture.err.join("\n")).not.toContain("Restoring to");
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
      expect(readFileSync(manifest, "utf8")).toContain('"format": "jitsi-stack-backup/1"');
    });

    it("is refused by the VM's restore.sh on its own, naming what does not belong", async () => {
      const file = path.join(backups, "dev", "2025-05-01T00-00-00Z.tar.gz");
      await craftFormat1Backup(vm.jitsiDir, file);
      const before = snapshot(vm.opt);
      const remote = runRemoteScript(
        vm.target,
        "restore.sh",
        [
          "restore",
          vm.jitsiDir,
          DATA,
          await sha256File(file),
          "2025-06-02T08-00-00Z",
          vm.control,
          "refuse",
          RELEASE.tag,
          RELEASE.commit,
        ],
        { stdin: Readable.from([readFileSync(file)]) },
      );
      const result = await remote.done;
      expect(result.exitCode).toBe(3);
      expect(result.stderrTail.join("\n")).toMatch(
        /the archive holds entries that are not part of a backup \(only \.\/state\/config\/, \.\/\.env and \.\/\.jitsi-stack-release\.json are\): .*\.\/config\/.*nothing was changed/,
      );
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });
  });

  describe("refuses a damaged backup, names the reason, and leaves the server untouched", () => {
    async function expectRefusal(reason: RegExp, overrides: Partial<RestoreOptions> = {}) {
      damageLiveData();
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
        ["restore", vm.jitsiDir, DATA, "a".repeat(64), "2025-06-02T08-00-00Z", vm.control, "skip"],
        { stdin: Readable.from([readFileSync(archive).subarray(0, 5000)]) },
      );
      const result = await remote.done;
      expect(result.exitCode).toBe(3);
      expect(result.stderrTail.join("\n")).toMatch(/sha256 is [0-9a-f]{64}, not a{64}.*nothing was changed/);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });
  });

  describe("refuses links out of state/config, special files and strays, naming them, and changes nothing", () => {
    const hostile: [string, CraftedEntry, RegExp][] = [
      [
        "a symlink to an absolute path",
        { path: "./state/config/evil", type: "SymbolicLink", linkpath: "/tmp/x" },
        /\.\/state\/config\/evil -> \/tmp\/x/,
      ],
      [
        "a symlink that climbs out",
        { path: "./state/config/web/up", type: "SymbolicLink", linkpath: "../../../.." },
        /\.\/state\/config\/web\/up -> \.\.\/\.\.\/\.\.\/\.\./,
      ],
      [
        "a symlink to the backup's .env (inside the archive, outside state/config)",
        { path: "./state/config/web/env", type: "SymbolicLink", linkpath: "../../../.env" },
        /\.\/state\/config\/web\/env -> \.\.\/\.\.\/\.\.\/\.env/,
      ],
      [
        "a hard link to ../../etc/passwd",
        { path: "./state/config/passwd", type: "Link", linkpath: "../../etc/passwd" },
        /\.\/state\/config\/passwd link to \.\.\/\.\.\/etc\/passwd/,
      ],
      [
        "a hard link to the backup's .env",
        { path: "./state/config/env", type: "Link", linkpath: "./.env" },
        /\.\/state\/config\/env link to \.\/\.env/,
      ],
      ["a FIFO", { path: "./state/config/pipe", type: "FIFO" }, /\.\/state\/config\/pipe/],
      [
        "a character device",
        { path: "./state/config/null", type: "CharacterDevice" },
        /\.\/state\/config\/null/,
      ],
      [
        "a file beside the data that no backup holds",
        { path: "./docker-compose.yml", type: "File", content: "services: {evil: {}}\n" },
        /entries that are not part of a backup .*\.\/docker-compose\.yml/,
      ],
    ];

    async function hostileBackup(entry: CraftedEntry) {
      const file = path.join(backups, "dev", "2025-06-03T00-00-00Z.tar.gz");
      const manifest = await craftBackup(vm.jitsiDir, [entry], file);
      return { file, manifest };
    }

    it.each(hostile)("restore refuses %s before uploading", async (_what, entry, named) => {
      const { file, manifest } = await hostileBackup(entry);
      damageLiveData();
      const before = snapshot(vm.opt);
      const attempt = runRestore(options({ archive: file, manifest }), {
        io: captureIo().io,
        now: () => restoreAt,
      });
      await expect(attempt).rejects.toThrow(
        /links or special files that could reach outside state\/config|entries that are not part of a backup/,
      );
      await expect(attempt).rejects.toThrow(named);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it.each(hostile)("the VM's restore.sh refuses %s on its own", async (_what, entry, named) => {
      const { file } = await hostileBackup(entry);
      damageLiveData();
      const before = snapshot(vm.opt);
      const remote = runRemoteScript(
        vm.target,
        "restore.sh",
        [
          "restore",
          vm.jitsiDir,
          DATA,
          await sha256File(file),
          "2025-06-02T08-00-00Z",
          vm.control,
          "refuse",
          RELEASE.tag,
          RELEASE.commit,
        ],
        { stdin: Readable.from([readFileSync(file)]) },
      );
      const result = await remote.done;
      expect(result.exitCode).toBe(3);
      const said = result.stderrTail.join("\n");
      expect(said).toMatch(
        /links or special files that could reach outside state\/config|entries that are not part of a backup/,
      );
      expect(said).toMatch(named);
      expect(said).toMatch(/nothing was changed/);
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });
  });

  describe("rolls back a failure partway through", () => {
    it("puts the previous data back and starts it when the restored stack fails to start", async () => {
      damageLiveData();
      const damaged = snapshot(vm.configDir);
      const outside = outsideState(snapshot(vm.jitsiDir));
      vm.failNext("start");
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /failed and was rolled back: the previous directory is back at .*state\/config and the stack was started again/,
      );
      expect(snapshot(vm.configDir)).toEqual(damaged);
      expect(outsideState(snapshot(vm.jitsiDir))).toEqual(outside);
      expect(vm.calls()).toEqual(["stop", "start", "stop", "start"]);
      expect(readdirSync(vm.stateDir).sort()).toEqual(["config", "lost+found"]);
    });

    it("says RESTORE FAILED AND THE ROLLBACK FAILED (exit 1) and what to do by hand when the previous data will not start either", async () => {
      damageLiveData();
      const damaged = snapshot(vm.configDir);
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
        `RESTORE FAILED AND THE ROLLBACK FAILED: the previous directory is back at ${vm.configDir} but starting it failed: check 'systemctl status jitsi-meet'. Act now: the stack may be down.`,
      );
      expect(said).not.toContain("was rolled back");
      expect(vm.calls()).toEqual(["stop", "start", "stop", "start"]);
      // The previous data is back in place; the restored tree went with the staging folder.
      expect(snapshot(vm.configDir)).toEqual(damaged);
      expect(readdirSync(vm.stateDir).sort()).toEqual(["config", "lost+found"]);
    });

    describe("when a rollback move fails, restore.sh exits 5 and says where the previous data is", () => {
      /** Runs restore.sh under dash with an `mv` that fails when moving FROM to a path matching TO. */
      function restoreWithFailingMv(from: string, to: string) {
        const shims = mvStandIn((realMv) => [
          `case "$2|$3" in '${from}|'${to}) echo "mv: stand-in failure" >&2; exit 1 ;; esac`,
          `exec '${realMv}' "$@"`,
        ]);
        vm.failNext("start"); // the restored stack fails to start, which starts the rollback
        return runRestoreSh(shims);
      }

      it("the restored data cannot be moved away: the previous data waits at the aside path", () => {
        const original = snapshot(vm.configDir);
        damageLiveData();
        const damaged = snapshot(vm.configDir);
        const aside = `${vm.configDir}.before-restore-STAMP`;
        const result = restoreWithFailingMv(vm.configDir, "*/failed-tree");
        expect(result.status).toBe(5);
        expect(result.stderr).toContain(
          `restore: cannot move ${vm.configDir} away; the previous directory is at ${aside}: move it back by hand and start the stack`,
        );
        expect(snapshot(aside)).toEqual(damaged);
        expect(snapshot(vm.configDir)).toEqual(withoutTransient(original));
        expect(readdirSync(vm.stateDir).sort()).toEqual([
          "config",
          "config.before-restore-STAMP",
          "lost+found",
        ]);
        expect(vm.calls()).toEqual(["stop", "start", "stop"]);
      });

      it("the previous data cannot be moved back: it waits at the aside path, state/config is gone", () => {
        damageLiveData();
        const damaged = snapshot(vm.configDir);
        const aside = `${vm.configDir}.before-restore-STAMP`;
        const result = restoreWithFailingMv(aside, `'${vm.configDir}'`);
        expect(result.status).toBe(5);
        expect(result.stderr).toContain(
          `restore: cannot move ${aside} back to ${vm.configDir}: do it by hand and start the stack`,
        );
        expect(snapshot(aside)).toEqual(damaged);
        expect(readdirSync(vm.stateDir).sort()).toEqual(["config.before-restore-STAMP", "lost+found"]);
        expect(vm.calls()).toEqual(["stop", "start", "stop"]);
      });
    });

    it("rolls back, keeping what appeared, when something recreates state/config before the restored data moves in", async () => {
      damageLiveData();
      const damaged = snapshot(vm.configDir);
      // A stand-in for a stray process: right after the live data is moved aside, `mv` recreates it.
      const shims = mvStandIn((realMv) => [
        `'${realMv}' "$@" || exit`,
        "for last do :; done",
        `case $last in '${vm.configDir}'.before-restore-*) mkdir '${vm.configDir}' && echo stray > '${vm.configDir}/made-by-another-process' ;; esac`,
      ]);
      const result = runRestoreSh(shims);
      expect(result.stderr).toMatch(
        /appeared again after it was moved aside; what appeared is kept at .*state\/config\.appeared-during-restore-STAMP; rolling back/,
      );
      expect(result.status).toBe(4);
      expect(snapshot(vm.configDir)).toEqual(damaged);
      expect(readdirSync(path.join(vm.stateDir, "config.appeared-during-restore-STAMP"))).toEqual([
        "made-by-another-process",
      ]);
      expect(readdirSync(vm.stateDir).sort()).toEqual([
        "config",
        "config.appeared-during-restore-STAMP",
        "lost+found",
      ]);
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
      expect(readdirSync(vm.stateDir).sort()).toEqual(["config", "lost+found"]);
      expect(vm.calls()).toEqual([]);
    });

    it("changes nothing when the stack cannot be stopped", async () => {
      damageLiveData();
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

    it("refuses when the VM has no state/config (the volume is not mounted)", async () => {
      rmSync(vm.configDir, { recursive: true });
      const before = snapshot(vm.opt);
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /state\/config is not a directory; is the state volume mounted at .*\/state\?; nothing was changed/,
      );
      expect(snapshot(vm.opt)).toEqual(before);
      expect(vm.calls()).toEqual([]);
    });

    it("refuses when the VM has no .env to compare the backup's with", async () => {
      rmSync(path.join(vm.jitsiDir, ".env"));
      await expect(runRestore(options(), { io: captureIo().io, now: () => restoreAt })).rejects.toThrow(
        /has no \.env, so it is not a deployed Jitsi directory; nothing was changed/,
      );
      expect(vm.calls()).toEqual([]);
    });
  });
});
