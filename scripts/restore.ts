import { existsSync } from "node:fs";
import path from "node:path";
import { exitWith, EXIT, type Io, parseFlags, processIo, required, stackFlag, UsageError } from "./lib/cli";
import { onInterrupt } from "./lib/interrupt";
import { manifestPathFor } from "./lib/manifest";
import { runRestore } from "./lib/restore";
import { type CommandRunner, spawnRunner } from "./lib/runner";
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from "./lib/ssh";
import { readStackOutputs } from "./lib/stack-outputs";

export const RESTORE_HELP = `Usage: npm run restore -- --stack STACK --from FILE [--dry-run]

Checks FILE (a backup from 'npm run backup') against its manifest, then uploads it to the VM, which
checks the sha256 again, unpacks it into a staging folder, stops the stack (systemctl stop
jitsi-meet.service), moves the current Jitsi directory aside to <dir>.before-restore-<UTC time> (kept,
never deleted), moves the restored tree in and starts the stack. If any step after the stop fails, the
previous directory is put back and started again.

  --stack STACK          Pulumi stack whose outputs name the VM (required)
  --from FILE            the backup archive, e.g. backups/dev/2025-06-01T12-30-05Z.tar.gz (required)
  --manifest FILE        its manifest (default: FILE with .tar.gz replaced by .manifest.json)
  --dry-run              check, upload and unpack in a scratch folder on the VM; change nothing
  --allow-other-stack    accept a backup made from another stack (moving a deployment)
  --allow-secret-mismatch  restore a backup whose .env JWT_APP_SECRET is not the stack's jwtAppSecret
                         (a backup from before a secret rotation: tokens then fail until they agree)
  --control PROGRAM      program on the VM run as 'PROGRAM stop' / 'PROGRAM start' instead of systemctl
  --help                 show this text

${TARGET_HELP}

Exit codes: 0 restored (or dry run passed); 1 refused (archive fails its checks; the reason is named)
or failed (rolled back unless the message says otherwise); 2 bad usage or FILE not found.`;

const FLAGS = {
  stack: { type: "string" },
  from: { type: "string" },
  manifest: { type: "string" },
  "dry-run": { type: "boolean" },
  "allow-other-stack": { type: "boolean" },
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
      stackJwtSecret: outputs?.jwtAppSecret,
      allowSecretMismatch: flags["allow-secret-mismatch"] ?? false,
    },
    { io, onInterrupt },
  );
  return EXIT.ok;
}

if (require.main === module) exitWith(() => restoreMain(process.argv.slice(2)));
