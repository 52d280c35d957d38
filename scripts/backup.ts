import path from "node:path";
import { exitWith, EXIT, intFlag, type Io, parseFlags, processIo, stackFlag } from "./lib/shared/cli";
import { runBackup } from "./lib/backup/backup";
import { onInterrupt } from "./lib/shared/interrupt";
import { type CommandRunner, spawnRunner } from "./lib/shared/runner";
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from "./lib/shared/ssh";
import { readStackOutputs, releaseFromOutputs } from "./lib/shared/stack-outputs";

export const BACKUP_HELP = `Usage: npm run backup -- --stack STACK [--keep N] [--out DIR]

Streams a tar.gz of the stack's data over SSH to DIR/STACK/<UTC time>.tar.gz, mode 0600, with a
<UTC time>.manifest.json beside it (format jitsi-stack-backup/2: sha256, size, file count, Jitsi
release, time). The data is state/config under the Jitsi directory (Let's Encrypt account and
certificates, Prosody's data, transcripts; without logs, tmp/ scratch files and recordings). The VM's
.env and .jitsi-stack-release.json go in too, only so that a restore can compare them with the stack's:
a restore never puts them back. The archive is read back in full before it is kept; then only the
newest N backups of the stack are kept.

  --stack STACK        Pulumi stack whose outputs name the VM (required)
  --keep N             backups of this stack to keep, newest first (default 10, 1-1000)
  --out DIR            folder for backups (default ./backups)
  --help               show this text

${TARGET_HELP}

The archive holds secrets (JWT secret, XMPP passwords, TLS keys): store it encrypted (see docs/operations.md, "Storing backups safely").

Exit codes: 0 backup written; 1 backup failed (nothing that looks like a backup is left); 2 bad usage;
130/143 interrupted (partial files removed).`;

const FLAGS = {
  stack: { type: "string" },
  keep: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean" },
  ...TARGET_FLAGS,
} as const;

export async function backupMain(argv: string[], io: Io = processIo, run: CommandRunner = spawnRunner) {
  const flags = parseFlags("backup", FLAGS, argv);
  if (flags.help) {
    io.out(BACKUP_HELP);
    return EXIT.ok;
  }
  const stack = stackFlag("backup", flags.stack);
  const keep = intFlag("backup", "keep", flags.keep, 10, 1, 1000);
  const { target, outputs } = await resolveTarget("backup", stack, flags, (s) => readStackOutputs(s, run));
  await runBackup(
    {
      stack,
      target,
      backupsDir: path.resolve(flags.out ?? "backups"),
      keep,
      fallbackRelease: releaseFromOutputs(outputs),
    },
    { io, onInterrupt },
  );
  return EXIT.ok;
}

if (require.main === module) exitWith(() => backupMain(process.argv.slice(2)));
