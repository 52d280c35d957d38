import { existsSync } from "node:fs";
import path from "node:path";
import {
  exitWith,
  EXIT,
  type Io,
  parseFlags,
  processIo,
  required,
  stackFlag,
  UsageError,
} from "./lib/shared/cli";
import { onInterrupt } from "./lib/shared/interrupt";
import { manifestPathFor } from "./lib/archive/manifest";
import { runRestore } from "./lib/restore/restore";
import { type CommandRunner, spawnRunner } from "./lib/shared/runner";
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from "./lib/shared/ssh";
import { readStackOutputs, releaseFromOutputs } from "./lib/shared/stack-outputs";

export const RESTORE_HELP = `Usage: npm run restore -- --stack STACK --from FILE [--dry-run]

Puts the data of a backup from 'npm run backup' back: the VM's state/config under the Jitsi directory
(Let's Encrypt account and certificates, Prosody's data, transcripts). It never writes the VM's .env,
.jitsi-stack-release.json or checkout, so the stack's current settings and release stay in force.

Checks FILE against its manifest, and refuses a backup made on another Jitsi release (tag or commit)
than the stack runs (its jitsiRelease/jitsiCommit outputs, or the VM's release file with --host). Then
uploads it to the VM, which checks the sha256 again, unpacks it into a staging folder beside
state/config, names the .env variables whose values differ from the VM's (names only, never values),
stops the stack (systemctl stop jitsi-meet.service), moves the current state/config aside to
state/config.before-restore-<UTC time> (kept, never deleted), moves the backup's in and starts the
stack. If any step after the stop fails, the previous state/config is put back and started again.

  --stack STACK          Pulumi stack whose outputs name the VM (required)
  --from FILE            the backup archive, e.g. backups/dev/2025-06-01T12-30-05Z.tar.gz (required)
  --manifest FILE        its manifest (default: FILE with .tar.gz replaced by .manifest.json)
  --dry-run              check, upload and unpack in a scratch folder on the VM, and list what a
                         restore would change in the data; change nothing
  --allow-other-stack    accept a backup made from another stack (moving a deployment)
  --allow-release-mismatch  restore data made on another Jitsi release than the stack runs
  --allow-secret-mismatch   deprecated and ignored: the .env, and so the JWT secret, is never restored
  --control PROGRAM      program on the VM run as 'PROGRAM stop' / 'PROGRAM start' instead of systemctl
  --help                 show this text

${TARGET_HELP}

Exit codes: 0 restored (or dry run passed); 1 refused (archive fails its checks, or another release;
the reason is named) or failed (rolled back unless the message says otherwise); 2 bad usage or FILE
not found.`;

const FLAGS = {
  stack: { type: "string" },
  from: { type: "string" },
  manifest: { type: "string" },
  "dry-run": { type: "boolean" },
  "allow-other-stack": { type: "boolean" },
  "allow-release-mismatch": { type: "boolean" },
  /** Kept so runbooks that pass it still work; restore no longer writes .env, so it has nothing to allow. */
  "allow-secret-mismatch": { type: "boolean" },
  control: { type: "string" },
  help: { type: "boolean" },
  ...TARGET_FLAGS,
} as const;

export async function restoreMain(argv: string[], io: Io = processIo, run: CommandRunner = spawnRunner) {
  const flags = parseFlags("restore", FLAGS, argv);
  if (flags.help) {
    io.out(RESTORE_HELP);
    return EXIT.ok;
  }
  const stack = stackFlag("restore", flags.stack);
  const from = required("restore", "from", flags.from, "the backup archive to restore");
  if (!from.endsWith(".tar.gz") && flags.manifest === undefined) {
    throw new UsageError(`restore: --from must be a .tar.gz backup (got '${from}'), or pass --manifest.`);
  }
  if (!existsSync(from)) throw new UsageError(`restore: --from ${from} does not exist.`);
  const manifest = flags.manifest ?? manifestPathFor(from);
  if (flags.control !== undefined && !/^\/[\w./-]+$/.test(flags.control)) {
    throw new UsageError(`restore: --control must be an absolute path on the VM (got '${flags.control}').`);
  }
  if (flags["allow-secret-mismatch"]) {
    io.err(
      "Note: --allow-secret-mismatch is deprecated and ignored: restore no longer writes the VM's .env, so the stack's JWT secret stays as it is.",
    );
  }
  const { target, outputs } = await resolveTarget("restore", stack, flags, (s) => readStackOutputs(s, run));
  await runRestore(
    {
      stack,
      target,
      archive: path.resolve(from),
      manifest: path.resolve(manifest),
      dryRun: flags["dry-run"] ?? false,
      control: flags.control ?? "",
      allowOtherStack: flags["allow-other-stack"] ?? false,
      // Without outputs (--host), or from a stack deployed before it exported them, the VM's release file decides.
      stackRelease: releaseFromOutputs(outputs) ?? undefined,
      allowReleaseMismatch: flags["allow-release-mismatch"] ?? false,
    },
    { io, onInterrupt },
  );
  return EXIT.ok;
}

if (require.main === module) exitWith(() => restoreMain(process.argv.slice(2)));
