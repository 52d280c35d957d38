import { createReadStream, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { envFileValue, inspectArchive, readArchiveFile, sha256File } from "./archive";
import { type Io, OperationError } from "./cli";
import { archiveMismatches, backupStamp, contentProblems, type Manifest, parseManifest } from "./manifest";
import { progressReporter } from "./progress";
import {
  describeTarget,
  hostKeyNotice,
  runRemoteScript,
  SSH_CONNECTION_FAILED,
  sshFailure,
  type SshTarget,
} from "./ssh";

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
  /** The stack's jwtAppSecret output; undefined with an explicit target (no outputs), which skips the check. */
  stackJwtSecret?: string;
  /** Restore even when the backup's JWT_APP_SECRET is not the stack's (going back to before a rotation). */
  allowSecretMismatch?: boolean;
}

export interface RestoreDeps {
  io: Io;
  now?: () => Date;
  /** Registers clean-up for Ctrl-C / SIGTERM (the CLI passes onInterrupt; tests need none). */
  onInterrupt?: (cleanup: () => void) => () => void;
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

/**
 * Prosody checks tokens with the secret in the restored .env, while the issuer and verify sign with the
 * stack's jwtAppSecret output: if they differ, every token fails with "Invalid signature". The secrets are
 * compared in memory and never printed.
 */
async function checkJwtSecret(options: RestoreOptions, io: Io): Promise<void> {
  if (options.stackJwtSecret === undefined) {
    io.err(
      "Not comparing the backup's JWT_APP_SECRET with the stack's: there are no stack outputs with --host.",
    );
    return;
  }
  const env = await readArchiveFile(options.archive, ".env");
  const secret = env === null ? undefined : envFileValue(env, "JWT_APP_SECRET");
  if (secret === options.stackJwtSecret) {
    io.err("  ok: the backup's JWT_APP_SECRET matches the stack's jwtAppSecret");
    return;
  }
  const what =
    secret === undefined
      ? "its .env holds no JWT_APP_SECRET"
      : `its .env holds a different JWT_APP_SECRET than stack '${options.stack}' (its jwtAppSecret output), so it was probably made before a secret rotation`;
  if (options.allowSecretMismatch) {
    io.err(
      `Warning: the backup's JWT_APP_SECRET differs from the stack's; going ahead (--allow-secret-mismatch). Tokens from the issuer fail with "Invalid signature" until the stack's secret and the VM's .env agree again.`,
    );
    return;
  }
  throw new OperationError(
    `Refusing ${options.archive}: ${what}. Once restored, Prosody would check tokens with the backup's secret while the issuer signs with the stack's, and every token would fail with "Invalid signature". Restore a newer backup, or pass --allow-secret-mismatch to go ahead anyway. Nothing was uploaded.`,
  );
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
  await checkJwtSecret(options, io);
  const stamp = backupStamp((deps.now ?? (() => new Date()))());
  const mode = options.dryRun ? "dry-run" : "restore";
  io.err(`${options.dryRun ? "Dry run against" : "Restoring to"} ${describeTarget(options.target)}`);
  const notice = hostKeyNotice(options.target);
  if (notice) io.err(notice);

  const upload = createReadStream(options.archive);
  const progress = progressReporter(io, "uploaded");
  upload.on("data", (chunk) => progress.add(chunk.length));
  upload.on("end", () => progress.done());
  const remote = runRemoteScript(
    options.target,
    "restore.sh",
    [mode, options.target.jitsiDir, manifest.sha256, stamp, options.control],
    { stdin: upload, onStderrLine: (line) => io.err(`  remote: ${line}`), onInterrupt: deps.onInterrupt },
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
        `The SSH connection failed or dropped (${sshFailure(options.target, stderrTail)}). If it dropped after the upload, the restore carries on on the VM: look for ${aside} and check 'systemctl status jitsi-meet'.`,
      );
    default:
      throw new OperationError(`Restore failed on the VM (exit ${exitCode}): ${reason}.`);
  }
}
