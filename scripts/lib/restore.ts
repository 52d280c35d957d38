import { createReadStream, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { inspectArchive, sha256File } from "./archive";
import { type Io, OperationError } from "./cli";
import { archiveMismatches, backupStamp, contentProblems, type Manifest, parseManifest } from "./manifest";
import { progressReporter } from "./progress";
import { describeTarget, runRemoteScript, SSH_CONNECTION_FAILED, type SshTarget } from "./ssh";

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
}

export interface RestoreDeps {
  io: Io;
  now?: () => Date;
}

/** Exit codes of scripts/remote/restore.sh. */
const REMOTE = { refused: 3, rolledBack: 4, rollbackFailed: 5 } as const;

/** Checks an archive against its manifest on this machine; throws with every reason it must not be used. */
export async function checkBackup(
  options: Pick<RestoreOptions, "archive" | "manifest" | "stack" | "allowOtherStack">,
) {
  let manifest: Manifest;
  try {
    manifest = parseManifest(readFileSync(options.manifest, "utf8"));
  } catch (error) {
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

/**
 * Uploads a checked archive and lets scripts/remote/restore.sh swap it in: stop the stack, move the current
 * directory aside (kept), move the restored tree in, start; on failure it puts the old directory back.
 */
export async function runRestore(options: RestoreOptions, deps: RestoreDeps): Promise<{ aside?: string }> {
  const { io } = deps;
  io.err(`Checking ${options.archive} against ${options.manifest}`);
  const { manifest } = await checkBackup(options);
  io.err(
    `  ok: ${manifest.fileCount} files, ${manifest.size} bytes, Jitsi ${manifest.jitsiRelease?.tag ?? "release unknown"}, made ${manifest.createdAt}`,
  );
  const stamp = backupStamp((deps.now ?? (() => new Date()))());
  const mode = options.dryRun ? "dry-run" : "restore";
  io.err(`${options.dryRun ? "Dry run against" : "Restoring to"} ${describeTarget(options.target)}`);

  const upload = createReadStream(options.archive);
  const progress = progressReporter(io, "uploaded");
  upload.on("data", (chunk) => progress.add(chunk.length));
  upload.on("end", () => progress.done());
  const remote = runRemoteScript(
    options.target,
    "restore.sh",
    [mode, options.target.jitsiDir, manifest.sha256, stamp, options.control],
    { stdin: upload, onStderrLine: (line) => io.err(`  remote: ${line}`) },
  );
  const { exitCode, stderrTail } = await remote.done;
  const reason =
    stderrTail
      .filter((l) => l.trim())
      .pop()
      ?.replace(/^restore: /, "") ?? `exit ${exitCode}`;
  const dir = options.target.jitsiDir;
  const aside = `${path.posix.dirname(dir)}/${path.posix.basename(dir)}.before-restore-${stamp}`;
  switch (exitCode) {
    case 0:
      if (options.dryRun) {
        io.out(`Dry run passed: ${options.archive} is intact and unpacks on the VM. Nothing was changed.`);
        return {};
      }
      io.out(`Restored ${options.archive} to ${describeTarget(options.target)}.`);
      io.out(`  The previous directory is kept at ${aside}; delete it once 'npm run verify' passes.`);
      return { aside };
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
        `The SSH connection failed or dropped (${reason}). If it dropped after the upload, the restore carries on on the VM: look for ${aside} and check 'systemctl status jitsi-meet'.`,
      );
    default:
      throw new OperationError(`Restore failed on the VM (exit ${exitCode}): ${reason}.`);
  }
}
