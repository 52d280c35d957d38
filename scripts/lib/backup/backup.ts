import { createWriteStream, linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { finished } from "node:stream/promises";
import { inspectArchive } from "../archive/archive";
import { type Io, OperationError } from "../shared/cli";
import {
  archiveFileName,
  backupStamp,
  buildManifest,
  DATA_DIR,
  manifestPathFor,
  type Manifest,
} from "../archive/manifest";
import { progressReporter } from "../shared/progress";
import { applyRetention, sweepPartials } from "./retention";
import {
  describeTarget,
  hostKeyNotice,
  runRemoteScript,
  SSH_CONNECTION_FAILED,
  sshFailure,
  type SshTarget,
} from "../shared/ssh";

export interface BackupOptions {
  stack: string;
  target: SshTarget;
  /** Folder that holds one sub-folder per stack (default ./backups). */
  backupsDir: string;
  /** How many backups of this stack to keep, newest first. */
  keep: number;
  /** The release the stack outputs name, used when the VM has no release file. */
  fallbackRelease?: Manifest["jitsiRelease"];
}

export interface BackupDeps {
  io: Io;
  now?: () => Date;
  /** Registers clean-up for Ctrl-C / SIGTERM (the CLI passes onInterrupt; tests need none). */
  onInterrupt?: (cleanup: () => void) => () => void;
}

export interface BackupResult {
  archive: string;
  manifest: Manifest;
  deleted: string[];
}

/**
 * Streams the VM's data (state/config, with .env and the release file for comparison) into backups/<stack>/, checks the archive, writes its manifest and prunes
 * old backups. Until the archive has been checked it is a hidden ".partial" file, so a failed or killed run
 * never leaves a file that looks like a backup.
 */
export async function runBackup(options: BackupOptions, deps: BackupDeps): Promise<BackupResult> {
  const { io } = deps;
  const createdAt = (deps.now ?? (() => new Date()))();
  const stamp = backupStamp(createdAt);
  const dir = path.join(options.backupsDir, options.stack);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const stale of sweepPartials(dir)) io.err(`Removed ${stale}, left by an earlier run that was killed.`);

  const name = archiveFileName(stamp);
  const finalArchive = path.join(dir, name);
  const finalManifest = manifestPathFor(finalArchive);
  const partialArchive = path.join(dir, `.${name}.partial`);
  const partialManifest = path.join(dir, `.${path.basename(finalManifest)}.partial`);
  const removePartials = () => {
    rmSync(partialArchive, { force: true });
    rmSync(partialManifest, { force: true });
  };
  const unregister = deps.onInterrupt?.(removePartials) ?? (() => undefined);

  try {
    io.err(`Backing up ${describeTarget(options.target)} to ${finalArchive}`);
    const notice = hostKeyNotice(options.target);
    if (notice) io.err(notice);
    // The archive holds secrets (.env, TLS keys): only the owner may read it, from the first byte on.
    const file = createWriteStream(partialArchive, { flags: "wx", mode: 0o600 });
    const progress = progressReporter(io, "downloaded");
    const remote = runRemoteScript(options.target, "backup.sh", [options.target.jitsiDir, DATA_DIR], {
      stdout: file,
      onStdoutBytes: (count) => progress.add(count),
      onStderrLine: (line) => io.err(`  remote: ${line}`),
      onInterrupt: deps.onInterrupt,
    });
    const [result] = await Promise.all([remote.done, finished(file)]);
    progress.done();
    if (result.exitCode === SSH_CONNECTION_FAILED) {
      throw new OperationError(
        `Backup failed: the SSH connection to ${options.target.host} failed or dropped (${sshFailure(options.target, result.stderrTail)}). No backup was written.`,
      );
    }
    if (result.exitCode !== 0) {
      throw new OperationError(
        `Backup failed on the VM (exit ${result.exitCode}: ${lastLine(result.stderrTail)}). No backup was written.`,
      );
    }

    io.err("Checking the archive");
    let info;
    try {
      info = await inspectArchive(partialArchive);
    } catch (error) {
      throw new OperationError(
        `Backup failed: the downloaded archive is damaged: ${(error as Error).message}.`,
      );
    }
    if (!info.hasEnv || !info.hasData)
      throw new OperationError(
        `Backup failed: the archive holds no ${info.hasEnv ? DATA_DIR : ".env"}. No backup was written.`,
      );
    const unsafe = [...info.unsafePaths, ...info.unsafeEntries];
    if (unsafe.length > 0) {
      io.err(
        `Warning: restore will refuse this backup, because the VM's ${DATA_DIR} holds links or special files that reach outside it: ${unsafe.slice(0, 3).join(", ")}. Remove them on the VM and back up again.`,
      );
    }
    const release = info.release ?? options.fallbackRelease ?? null;
    if (!info.release)
      io.err("Warning: the VM has no .jitsi-stack-release.json; the manifest uses the stack outputs.");
    const manifest = buildManifest({
      stack: options.stack,
      createdAt,
      archive: name,
      info,
      release,
      host: options.target.host,
      jitsiDir: options.target.jitsiDir,
    });
    writeFileSync(partialManifest, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: "wx" });

    // Commit: hard links fail instead of overwriting an existing backup; the archive appears last.
    try {
      linkSync(partialManifest, finalManifest);
    } catch {
      throw new OperationError(`A backup named ${name} already exists in ${dir}; run again in a second.`);
    }
    try {
      linkSync(partialArchive, finalArchive);
    } catch {
      rmSync(finalManifest, { force: true });
      throw new OperationError(`A backup named ${name} already exists in ${dir}; run again in a second.`);
    }
    removePartials();

    const deleted = applyRetention(dir, options.keep);
    io.out(`Backup written: ${finalArchive}`);
    io.out(`  manifest: ${finalManifest}`);
    io.out(`  size: ${manifest.size} bytes, files: ${manifest.fileCount}, sha256: ${manifest.sha256}`);
    io.out(`  Jitsi release: ${release ? `${release.tag} (${release.commit})` : "unknown"}`);
    for (const old of deleted) io.out(`  removed old backup (keeping ${options.keep}): ${old}`);
    return { archive: finalArchive, manifest, deleted };
  } finally {
    removePartials();
    unregister();
  }
}

function lastLine(lines: string[]): string {
  return lines.filter((line) => line.trim()).pop() ?? "no message";
}
