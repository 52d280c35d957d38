import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { list } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backupMain } from "../../scripts/backup";
import { runBackup } from "../../scripts/lib/backup/backup";
import { runMain } from "../../scripts/lib/shared/cli";
import { sha256File } from "../../scripts/lib/archive/archive";
import { parseManifest } from "../../scripts/lib/archive/manifest";
import { targetFromOutputs } from "../../scripts/lib/shared/ssh";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";
import { ENV_SECRETS, growBigFile, RELEASE, TRANSIENT } from "../helpers/jitsi-tree";
import { partialDownloadUnderWay, useFakeVmOverSsh } from "../helpers/jitsi-server";
import { startProxy } from "../helpers/tcp-proxy";

const ROOT = path.resolve(__dirname, "../..");
const fixture = useFakeVmOverSsh();

const at = (iso: string) => () => new Date(iso);
const captureText = (lines: string[]) => lines.join("\n");

async function archiveNames(file: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file, onReadEntry: (entry) => void names.push(entry.path) });
  return names;
}

describe("backup", () => {
  it("writes fixture.backups/<stack>/<UTC time>.tar.gz, mode 0600, with a manifest that matches it", async () => {
    const { io, out } = captureIo();
    const result = await runBackup(
      { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 },
      { io, now: at("2025-06-01T12:30:05.250Z") },
    );
    expect(result.archive).toBe(path.join(fixture.backups, "dev", "2025-06-01T12-30-05Z.tar.gz"));
    expect(statSync(result.archive).mode & 0o777).toBe(0o600);
    const manifestFile = path.join(fixture.backups, "dev", "2025-06-01T12-30-05Z.manifest.json");
    expect(statSync(manifestFile).mode & 0o777).toBe(0o600);
    const manifest = parseManifest(readFileSync(manifestFile, "utf8"));
    expect(manifest).toMatchObject({
      stack: "dev",
      createdAt: "2025-06-01T12:30:05.250Z",
      archive: "2025-06-01T12-30-05Z.tar.gz",
      size: statSync(result.archive).size,
      sha256: await sha256File(result.archive),
      format: "jitsi-stack-backup/2",
      jitsiRelease: RELEASE,
      contents: { data: "state/config", reference: [".env", ".jitsi-stack-release.json"] },
    });
    const names = await archiveNames(result.archive);
    expect(manifest.fileCount).toBe(
      names.filter((n) => !n.endsWith("/") && n !== "./state/config/web/cert-link.pem").length,
    );
    expect(names).toContain("./.env");
    expect(names).toContain("./.jitsi-stack-release.json");
    expect(names).toContain("./state/config/web/acme-certs/meet.example.com/key.pem");
    expect(names).toContain("./state/config/web/acme/account.json");
    expect(out.join("\n")).toContain(`sha256: ${manifest.sha256}`);
    expect(captureText(out)).not.toMatch(new RegExp(ENV_SECRETS.join("|")));
  });

  it("holds the data and, for comparison, .env and the release file: not the checkout, managed-config, lost+found or restore leftovers", async () => {
    // What earlier restores leave beside the data on the volume.
    mkdirSync(path.join(fixture.vm.stateDir, "config.before-restore-2025-05-01T00-00-00Z/web"), {
      recursive: true,
    });
    writeFileSync(
      path.join(fixture.vm.stateDir, "config.before-restore-2025-05-01T00-00-00Z/web/old"),
      "old\n",
    );
    mkdirSync(path.join(fixture.vm.stateDir, ".config.restore.AbC123"));
    const result = await runBackup(
      { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 },
      { io: captureIo().io },
    );
    const names = await archiveNames(result.archive);
    const tops = [...new Set(names.map((n) => n.split("/").slice(0, 3).join("/")))].sort();
    expect(tops).toEqual(["./.env", "./.jitsi-stack-release.json", "./state/config"]);
  });

  it("leaves out logs, scratch files and recordings, but keeps the directories the containers mount", async () => {
    const result = await runBackup(
      { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 },
      { io: captureIo().io },
    );
    const names = await archiveNames(result.archive);
    expect(names.filter((n) => /\.log$|\/logs\/|\/tmp\/.*\/.|recordings\/./.test(n))).toEqual([]);
    for (const rel of TRANSIENT) expect(names).not.toContain(`./state/config/${rel}`);
    expect(names).toContain("./state/config/storage/transcripts/");
    expect(names).toContain("./state/config/tmp/web-load-test/");
    expect(names).toContain("./state/config/storage/jibri/recordings/");
  });

  it("fails, naming the reason, and writes nothing when the VM has no state/config (volume not mounted)", async () => {
    rmSync(fixture.vm.configDir, { recursive: true });
    await expect(
      runBackup(
        { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 },
        { io: captureIo().io },
      ),
    ).rejects.toThrow(
      /state\/config is not a directory, so there is no data to back up; is the state volume mounted at .*\/state\?.*No backup was written/,
    );
    expect(readdirSync(path.join(fixture.backups, "dev"))).toEqual([]);
  });

  it("fails, naming the reason, and writes nothing when the VM has no Jitsi directory", async () => {
    const target = { ...fixture.vm.target, jitsiDir: path.join(fixture.vm.opt, "nope") };
    await expect(
      runBackup({ stack: "dev", target, backupsDir: fixture.backups, keep: 5 }, { io: captureIo().io }),
    ).rejects.toThrow(/nope does not exist on .*No backup was written/);
    expect(readdirSync(path.join(fixture.backups, "dev"))).toEqual([]);
  });

  it("fails and writes nothing when the download is cut short", async () => {
    growBigFile(fixture.vm.jitsiDir); // the archive is longer than the cut
    const proxy = await startProxy({ targetPort: fixture.sshd.port, cutAfterBytes: 400_000 });
    try {
      const target = {
        ...fixture.vm.target,
        port: proxy.port,
        knownHosts: fixture.sshd.knownHostsFor(proxy.port),
      };
      await expect(
        runBackup({ stack: "dev", target, backupsDir: fixture.backups, keep: 5 }, { io: captureIo().io }),
      ).rejects.toThrow(/SSH connection to 127.0.0.1 failed or dropped.*No backup was written/);
      expect(readdirSync(path.join(fixture.backups, "dev"))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("fails when the host key is not the one trusted", async () => {
    const target = { ...fixture.vm.target, knownHosts: fixture.sshd.knownHostsFor(1) };
    await expect(
      runBackup({ stack: "dev", target, backupsDir: fixture.backups, keep: 5 }, { io: captureIo().io }),
    ).rejects.toThrow(/SSH connection .* failed or dropped \(.*[Hh]ost key/);
    expect(readdirSync(path.join(fixture.backups, "dev"))).toEqual([]);
  });

  describe("pins the VM's host key from the stack's sshHostPublicKey output", () => {
    let tmp: string;
    let savedTmpdir: string | undefined;
    beforeEach(() => {
      // The temporary known_hosts goes under TMPDIR; a folder of our own shows that it is removed.
      tmp = mkdtempSync(path.join(os.tmpdir(), "jitsi-tmpdir-"));
      savedTmpdir = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
    });
    afterEach(() => {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
      rmSync(tmp, { recursive: true, force: true });
    });

    /** The target the stack outputs describe, pointed at the sshd's port (outputs always mean port 22). */
    const stackTarget = (hostPublicKey: string) => ({
      ...targetFromOutputs(
        "dev",
        sampleOutputs({ sshHost: "127.0.0.1", sshHostPublicKey: hostPublicKey }),
        {},
      ),
      port: fixture.sshd.port,
      user: fixture.sshd.user,
      identity: fixture.sshd.identity,
      jitsiDir: fixture.vm.jitsiDir,
    });

    it("backs up when the VM shows the pinned key, and removes the temporary known_hosts", async () => {
      const { io, err } = captureIo();
      const result = await runBackup(
        {
          stack: "dev",
          target: stackTarget(fixture.sshd.hostPublicKey),
          backupsDir: fixture.backups,
          keep: 5,
        },
        { io },
      );
      expect(existsSync(result.archive)).toBe(true);
      expect(err.join("\n")).not.toMatch(/trusted on first use/);
      expect(readdirSync(tmp)).toEqual([]);
    });

    it("refuses a VM that shows another key: host-key mismatch, nothing written", async () => {
      const other = mkdtempSync(path.join(tmp, "other-key-"));
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(other, "k")]);
      const otherKey = readFileSync(path.join(other, "k.pub"), "utf8").split(" ").slice(0, 2).join(" ");
      rmSync(other, { recursive: true });
      await expect(
        runBackup(
          { stack: "dev", target: stackTarget(otherKey), backupsDir: fixture.backups, keep: 5 },
          { io: captureIo().io },
        ),
      ).rejects.toThrow(
        /host-key mismatch: the SSH host key of 127\.0\.0\.1 is not the one pinned by the stack's sshHostPublicKey output.*No backup was written/,
      );
      expect(readdirSync(path.join(fixture.backups, "dev"))).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    });

    it("says the host key is trusted on first use when nothing pins it", async () => {
      const { io, err } = captureIo();
      // Port 1 refuses at once, so ssh never records a key in ~/.ssh/known_hosts.
      const target = { host: "127.0.0.1", port: 1, user: fixture.sshd.user, jitsiDir: fixture.vm.jitsiDir };
      await expect(
        runBackup({ stack: "dev", target, backupsDir: fixture.backups, keep: 5 }, { io }),
      ).rejects.toThrow(/failed or dropped/);
      expect(err.filter((l) => /trusted on first use/.test(l))).toEqual([
        "The VM's SSH host key is trusted on first use (accept-new): pass --known-hosts FILE, or deploy a stack that exports sshHostPublicKey, to pin it.",
      ]);
    });
  });

  it("keeps exactly the newest N fixture.backups and leaves other files alone", async () => {
    const dir = path.join(fixture.backups, "dev");
    const stamps = [
      "2025-06-01T00:00:00Z",
      "2025-06-02T00:00:00Z",
      "2025-06-03T00:00:00Z",
      "2025-06-04T00:00:00Z",
    ];
    for (const [i, stamp] of stamps.entries()) {
      if (i === 1) writeFileSync(path.join(dir, "notes.txt"), "mine");
      await runBackup(
        { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 2 },
        { io: captureIo().io, now: at(stamp) },
      );
    }
    expect(readdirSync(dir).sort()).toEqual([
      "2025-06-03T00-00-00Z.manifest.json",
      "2025-06-03T00-00-00Z.tar.gz",
      "2025-06-04T00-00-00Z.manifest.json",
      "2025-06-04T00-00-00Z.tar.gz",
      "notes.txt",
    ]);
  });

  it("keeps the newest 10 when --keep is not given", async () => {
    const dir = path.join(fixture.backups, "dev");
    // Ten earlier fixture.backups (names are all retention reads), then one real backup through the CLI: 11 in all.
    const old = Array.from({ length: 10 }, (_, i) => `2020-01-${String(i + 1).padStart(2, "0")}T00-00-00Z`);
    mkdirSync(dir, { recursive: true });
    for (const stamp of old) {
      writeFileSync(path.join(dir, `${stamp}.tar.gz`), "old");
      writeFileSync(path.join(dir, `${stamp}.manifest.json`), "{}");
    }
    const capture = captureIo();
    const pulumi = fakePulumi({});
    const code = await runMain(
      () =>
        backupMain(
          ["--stack", "dev", "--out", fixture.backups, ...fixture.vm.targetFlags],
          capture.io,
          pulumi.run,
        ),
      capture.io,
    );
    expect(code).toBe(0);
    expect(pulumi.calls).toEqual([]);
    const archives = readdirSync(dir)
      .filter((n) => n.endsWith(".tar.gz"))
      .sort();
    expect(archives).toHaveLength(10);
    expect(archives.slice(0, 9)).toEqual(old.slice(1).map((stamp) => `${stamp}.tar.gz`));
    expect(archives[9]).not.toMatch(/^2020-/);
    expect(readdirSync(dir).filter((n) => n.endsWith(".manifest.json"))).toHaveLength(10);
    expect(capture.out.join("\n")).toContain("removed old backup (keeping 10): 2020-01-01T00-00-00Z.tar.gz");
  });

  it("refuses to overwrite a backup made in the same second", async () => {
    const options = { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 };
    const first = await runBackup(options, { io: captureIo().io, now: at("2025-06-01T00:00:00Z") });
    const sum = await sha256File(first.archive);
    await expect(
      runBackup(options, { io: captureIo().io, now: at("2025-06-01T00:00:00.5Z") }),
    ).rejects.toThrow(/already exists/);
    expect(await sha256File(first.archive)).toBe(sum);
    expect(readdirSync(path.join(fixture.backups, "dev")).sort()).toEqual([
      "2025-06-01T00-00-00Z.manifest.json",
      "2025-06-01T00-00-00Z.tar.gz",
    ]);
  });
});

describe("backup interrupted mid-transfer", () => {
  // A throttled proxy makes a 2 MiB download take seconds, so the process can be killed during it.
  async function startSlowBackup() {
    growBigFile(fixture.vm.jitsiDir);
    const proxy = await startProxy({ targetPort: fixture.sshd.port, bytesPerSecond: 200_000 });
    const child = spawn(
      process.execPath,
      [
        "--require",
        "esbuild-register",
        "scripts/backup.ts",
        "--stack",
        "dev",
        "--out",
        fixture.backups,
        ...fixture.vm.targetFlagsThrough(proxy.port),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const exit = new Promise<number | null>((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? (signal === "SIGKILL" ? -9 : null))),
    );
    const dir = path.join(fixture.backups, "dev");
    await partialDownloadUnderWay(dir);
    return { child, exit, dir, proxy };
  }

  const looksLikeBackup = (name: string) => /\.tar\.gz$|\.manifest\.json$/.test(name);

  it("Ctrl-C / SIGTERM removes the partial download, leaving nothing", async () => {
    const { child, exit, dir, proxy } = await startSlowBackup();
    try {
      expect(readdirSync(dir).some((n) => n.endsWith(".partial"))).toBe(true);
      child.kill("SIGTERM");
      expect(await exit).toBe(143);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("SIGKILL leaves only a hidden .partial file, which the next backup removes", async () => {
    const { child, exit, dir, proxy } = await startSlowBackup();
    try {
      child.kill("SIGKILL");
      await exit;
      expect(readdirSync(dir).filter(looksLikeBackup)).toEqual([]);
      const io = captureIo();
      await runBackup(
        { stack: "dev", target: fixture.vm.target, backupsDir: fixture.backups, keep: 5 },
        { io: io.io },
      );
      expect(io.err.join("\n")).toMatch(/Removed \..*\.partial, left by an earlier run that was killed/);
      expect(readdirSync(dir).filter((n) => n.endsWith(".partial"))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
