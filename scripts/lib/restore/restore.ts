import { createReadStream, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { VM_LAYOUT } from "../../../config/versions";
import { inspectArchive, type JitsiRelease, sha256File } from "../archive/archive";
import { type Io, OperationError } from "../shared/cli";
import {
  archiveMismatches,
  backupStamp,
  contentProblems,
  DATA_DIR,
  type Manifest,
  ManifestFormatError,
  parseManifest,
} from "../archive/manifest";
import { progressReporter } from "../shared/progress";
import { dryRunReport, parseVmFacts, settingsWarning, type VmFacts } from "./restoreReport";
import {
  describeTarget,
  hostKeyNotice,
  runRemoteScript,
  SSH_CONNECTION_FAILED,
  sshFailure,
  type SshTarget,
} from "../shared/ssh";

export interface RestoreOptions {
  stack: string;
  target: SshTarget;
  archive: string;
  manifest: string;
  dryRun: boolean;
  /** Program on the VM called as `CONTROL stop|start`; empty means systemctl on jitsi-meet.service. */
  control: string;
  /** Allow an archive made from another stack (moving a deployment). */
  allowOtherStack: boolean;
  /**
   * The release the stack outputs name (jitsiRelease, jitsiCommit). Undefined with an explicit target:
   * the VM's .jitsi-stack-release.json decides then.
   */
  stackRelease?: JitsiRelease;
  /** Restore the data even when the backup was made on another release than the stack runs. */
  allowReleaseMismatch?: boolean;
}

export interface RestoreDeps {
  io: Io;
  now?: () => Date;
  /** Registers clean-up for Ctrl-C / SIGTERM (the CLI passes onInterrupt; tests need none). */
  onInterrupt?: (cleanup: () => void) => () => void;
}

export interface RestoreResult {
  /** Where the replaced data is kept (a real restore only). */
  aside?: string;
  facts: VmFacts;
}

/** Exit codes of scripts/remote/restore.sh. */
const REMOTE = { refused: 3, rolledBack: 4, rollbackFailed: 5 } as const;

const releaseFileName = path.posix.basename(VM_LAYOUT.releaseFile);

/** Checks an archive against its manifest on this machine; throws with every reason it must not be used. */
export async function checkBackup(
  options: Pick<RestoreOptions, "archive" | "manifest" | "stack" | "allowOtherStack">,
) {
  let manifest: Manifest;
  try {
    manifest = parseManifest(readFileSync(options.manifest, "utf8"));
  } catch (error) {
    if (error instanceof ManifestFormatError) {
      throw new OperationError(`Refusing ${options.archive}: ${error.message}. Nothing was uploaded.`);
    }
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (error as Error).message;
    throw new OperationError(
      `Refusing ${options.archive}: its manifest ${options.manifest} is unusable (${reason}).`,
    );
  }
  let info;
  try {
    info = await inspectArchive(options.archive);
  } catch (error) {
    const sizeAndSum = await archiveMismatchesFromFile(manifest, options.archive);
    throw new OperationError(
      `Refusing ${options.archive}: ${[...sizeAndSum, (error as Error).message].join("; ")}.`,
    );
  }
  const reasons = [
    ...archiveMismatches(manifest, path.basename(options.archive), info),
    ...contentProblems(manifest, info),
  ];
  if (manifest.stack !== options.stack && !options.allowOtherStack) {
    reasons.push(
      `it was made from stack '${manifest.stack}', not '${options.stack}' (pass --allow-other-stack to move a deployment)`,
    );
  }
  if (reasons.length > 0) throw new OperationError(`Refusing ${options.archive}: ${reasons.join("; ")}.`);
  return { manifest, info };
}

async function archiveMismatchesFromFile(manifest: Manifest, file: string): Promise<string[]> {
  const facts = { sha256: await sha256File(file), size: statSync(file).size };
  return archiveMismatches(manifest, manifest.archive, facts);
}

function describeRelease(release: JitsiRelease | null | undefined): string {
  if (!release?.tag) return "an unknown release";
  return release.commit ? `${release.tag} (${release.commit})` : release.tag;
}

function sameRelease(a: JitsiRelease | null | undefined, b: JitsiRelease | null | undefined): boolean {
  return !!a?.tag && a.tag === b?.tag && a.commit === b.commit;
}

/**
 * Data from one release may not suit another (Prosody's storage, the web container's files), so a backup
 * made on another release than the stack runs is refused unless asked for. With stack outputs this is
 * decided here, before anything is uploaded; otherwise restore.sh compares with the VM's release file.
 */
function checkReleaseAgainstOutputs(options: RestoreOptions, manifest: Manifest, io: Io): void {
  const stackRelease = options.stackRelease;
  if (stackRelease === undefined) {
    io.err(
      `Comparing the backup's release with the VM's ${releaseFileName}: no stack outputs name the release (--host, or a stack deployed before it exported jitsiRelease).`,
    );
    return;
  }
  const backup = describeRelease(manifest.jitsiRelease);
  const stack = describeRelease(stackRelease);
  if (sameRelease(manifest.jitsiRelease, stackRelease)) {
    io.err(`  ok: the backup was made on ${backup}, the release stack '${options.stack}' runs`);
    return;
  }
  if (options.allowReleaseMismatch) {
    io.err(releaseWarning(backup, stack));
    return;
  }
  throw new OperationError(
    `Refusing ${options.archive}: it was made on Jitsi ${backup} but stack '${options.stack}' runs ${stack} (its jitsiRelease and jitsiCommit outputs); restore a backup made on ${stackRelease.tag}, or pass --allow-release-mismatch to put this data under ${stackRelease.tag} anyway. Nothing was uploaded.`,
  );
}

function releaseWarning(backup: string, running: string): string {
  return `Warning: the backup was made on Jitsi ${backup} but the stack runs ${running}; restoring its data anyway (--allow-release-mismatch). The stack keeps running ${running}.`;
}

/**
 * Uploads a checked archive and lets scripts/remote/restore.sh swap its data in: stop the stack, move the
 * current state/config aside (kept), move the restored one in, start; on failure it puts the old one back.
 * The VM's .env, release file and checkout are never written.
 */
export async function runRestore(options: RestoreOptions, deps: RestoreDeps): Promise<RestoreResult> {
  const { io } = deps;
  io.err(`Checking ${options.archive} against ${options.manifest}`);
  const { manifest } = await checkBackup(options);
  io.err(
    `  ok: ${manifest.fileCount} files, ${manifest.size} bytes, Jitsi ${describeRelease(manifest.jitsiRelease)}, made ${manifest.createdAt}`,
  );
  checkReleaseAgainstOutputs(options, manifest, io);
  const stamp = backupStamp((deps.now ?? (() => new Date()))());
  const mode = options.dryRun ? "dry-run" : "restore";
  io.err(`${options.dryRun ? "Dry run against" : "Restoring to"} ${describeTarget(options.target)}`);
  const notice = hostKeyNotice(options.target);
  if (notice) io.err(notice);

  const releaseCheck =
    options.stackRelease !== undefined ? "skip" : options.allowReleaseMismatch ? "allow" : "refuse";
  const upload = createReadStream(options.archive);
  const progress = progressReporter(io, "uploaded");
  upload.on("data", (chunk) => progress.add(chunk.length));
  upload.on("end", () => progress.done());
  const stdout: Buffer[] = [];
  const remote = runRemoteScript(
    options.target,
    "restore.sh",
    [
      mode,
      options.target.jitsiDir,
      DATA_DIR,
      manifest.sha256,
      stamp,
      options.control,
      releaseCheck,
      manifest.jitsiRelease?.tag ?? "",
      manifest.jitsiRelease?.commit ?? "",
    ],
    {
      stdin: upload,
      stdout: new Writable({
        write(chunk: Buffer, _encoding, done) {
          stdout.push(chunk);
          done();
        },
      }),
      onStderrLine: (line) => io.err(`  remote: ${line}`),
      onInterrupt: deps.onInterrupt,
    },
  );
  const { exitCode, stderrTail } = await remote.done;
  const facts = parseVmFacts(Buffer.concat(stdout));
  const reason =
    stderrTail
      .filter((l) => l.trim())
      .pop()
      ?.replace(/^restore: /, "") ?? `exit ${exitCode}`;
  const config = path.posix.join(options.target.jitsiDir, DATA_DIR);
  const aside = `${config}.before-restore-${stamp}`;
  switch (exitCode) {
    case 0: {
      if (releaseCheck !== "skip") {
        const backup = describeRelease(manifest.jitsiRelease);
        if (sameRelease(manifest.jitsiRelease, facts.vmRelease))
          io.err(`  ok: the backup was made on ${backup}, the release the VM runs`);
        else io.err(releaseWarning(backup, describeRelease(facts.vmRelease)));
      }
      const warning = settingsWarning(facts.settings, `${options.target.jitsiDir}/.env`);
      if (warning) io.err(warning);
      if (options.dryRun) {
        io.out(`Dry run passed: ${options.archive} is intact and unpacks on the VM. Nothing was changed.`);
        for (const line of dryRunReport(facts, options.target.jitsiDir, config)) io.out(line);
        return { facts };
      }
      io.out(`Restored the data of ${options.archive} to ${describeTarget(options.target)}: ${config}.`);
      io.out(`  The previous data is kept at ${aside}; delete it once 'npm run verify' passes.`);
      io.out(
        `  Not changed: ${options.target.jitsiDir}/.env and ${releaseFileName}, so the stack's settings and release stay as they are.`,
      );
      return { aside, facts };
    }
    case REMOTE.refused:
      throw new OperationError(`Restore refused on the VM: ${reason}.`);
    case REMOTE.rolledBack:
      throw new OperationError(`Restore failed and was rolled back: ${reason}.`);
    case REMOTE.rollbackFailed:
      throw new OperationError(
        `RESTORE FAILED AND THE ROLLBACK FAILED: ${reason}. Act now: the stack may be down.`,
      );
    case SSH_CONNECTION_FAILED:
      throw new OperationError(
        `The SSH connection failed or dropped (${sshFailure(options.target, stderrTail)}). If it dropped after the upload, the restore carries on on the VM: look for ${aside} and check 'systemctl status jitsi-meet'.`,
      );
    default:
      throw new OperationError(`Restore failed on the VM (exit ${exitCode}): ${reason}.`);
  }
}
