import path from "node:path";
import { createInterface } from "node:readline/promises";
import {
  exitWith,
  EXIT,
  intFlag,
  type Io,
  parseFlags,
  processIo,
  stackFlag,
  UsageError,
} from "./lib/shared/cli";
import { runBackup } from "./lib/backup/backup";
import { onInterrupt } from "./lib/shared/interrupt";
import { type CommandRunner, spawnRunner } from "./lib/shared/runner";
import {
  explicitTargetFromFlags,
  isStackHost,
  recorderTarget,
  type SshTarget,
  TARGET_FLAGS,
  targetHelp,
  targetFromOutputs,
} from "./lib/shared/ssh";
import { readStackOutputs, releaseFromOutputs, type StackOutputs } from "./lib/shared/stack-outputs";
import { runTeardown } from "./lib/teardown/teardown";
import { pendingOn, type RecorderHoldings } from "./lib/recording/recordings";

export const TEARDOWN_HELP = `Usage: npm run teardown -- --stack STACK [--yes] [--skip-backup]

Destroys a deployed stack: refuses it while jitsi:deleteProtection is on; makes a backup first (as
'npm run backup' does: the data in state/config, with .env and the release file for comparison; a
stack deployed again can take the data back with 'npm run restore'); asks you to type the stack name;
warns about recordings that a recorder holds and has not uploaded yet (they are lost with it);
runs 'pulumi destroy'; then lists anything that outlived it and still costs money or still answers
(primary IPs, volumes, snapshots, DNS records).

  --stack STACK     the Pulumi stack to destroy (required)
  --yes             do not ask for the stack name (CI)
  --skip-backup     destroy without a backup first
  --keep N          backups of this stack to keep (default 10)
  --out DIR         folder for backups (default ./backups)
  --allow-other-host  back up a --host that is not the stack's sshHost/ipv4 output (on purpose)
  --help            show this text

${targetHelp(true)}

Exit codes: 0 destroyed; 1 refused (delete protection, backup failed, wrong name typed) or pulumi destroy
failed; 2 bad usage (including a --host that is not the stack's VM).`;

const FLAGS = {
  stack: { type: "string" },
  yes: { type: "boolean" },
  "skip-backup": { type: "boolean" },
  "allow-other-host": { type: "boolean" },
  keep: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean" },
  ...TARGET_FLAGS,
} as const;

/** Reads the typed answer from the terminal; there is none in CI, which must pass --yes. */
function terminalAsk(): ((question: string) => Promise<string>) | undefined {
  if (!process.stdin.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  };
}

/** An explicit --host that is the stack's VM is pinned to the stack's host key, unless --known-hosts decides. */
function withStackHostKey(target: SshTarget, outputs: StackOutputs, otherHost: boolean): SshTarget {
  if (otherHost || target.knownHosts || !isStackHost(outputs, target.host)) return target;
  return { ...target, hostPublicKey: outputs.sshHostPublicKey };
}

/** Asks every recorder, over SSH with its pinned host key, what it has not uploaded yet. */
async function recorderHoldings(
  outputs: StackOutputs,
  flags: Parameters<typeof recorderTarget>[2],
): Promise<RecorderHoldings[]> {
  return Promise.all(
    (outputs.recorders ?? []).map(async (r) => {
      const recorder = `recorder-${r.index}`;
      try {
        const target = recorderTarget(outputs, r, flags);
        return { recorder, host: r.ipv4, sessions: await pendingOn(target) };
      } catch (error) {
        return { recorder, host: r.ipv4, error: (error as Error).message };
      }
    }),
  );
}

export async function teardownMain(
  argv: string[],
  io: Io = processIo,
  run: CommandRunner = spawnRunner,
  ask: ((question: string) => Promise<string>) | undefined = terminalAsk(),
) {
  const flags = parseFlags("teardown", FLAGS, argv);
  if (flags.help) {
    io.out(TEARDOWN_HELP);
    return EXIT.ok;
  }
  const stack = stackFlag("teardown", flags.stack);
  const keep = intFlag("teardown", "keep", flags.keep, 10, 1, 1000);
  const explicit = explicitTargetFromFlags("teardown", flags);
  if (!explicit && flags["allow-other-host"]) {
    throw new UsageError("teardown: --allow-other-host needs --host (otherwise the stack outputs decide).");
  }
  /** Reads the outputs and, with --host, checks that it is the stack's own VM before anything is done. */
  const readOutputs = async (s: string) => {
    const outputs = await readStackOutputs(s, run);
    if (explicit && !flags["allow-other-host"] && !isStackHost(outputs, explicit.host)) {
      const known = [...new Set([outputs.sshHost, outputs.ipv4].filter((h) => h !== undefined))];
      throw new UsageError(
        `teardown: --host ${explicit.host} is not the VM of stack '${s}' (its sshHost and ipv4 outputs are ${known.join(", ")}); a backup of another host would not be this stack's data. Drop --host, or pass --allow-other-host if you mean it.`,
      );
    }
    return outputs;
  };
  await runTeardown(
    { stack, skipBackup: flags["skip-backup"] ?? false, assumeYes: flags.yes ?? false },
    {
      io,
      run,
      ask,
      readOutputs,
      pendingRecordings: (outputs) => recorderHoldings(outputs, flags),
      backup: async (outputs) => {
        const target = explicit
          ? withStackHostKey(explicit, outputs, flags["allow-other-host"] ?? false)
          : targetFromOutputs(stack, outputs, flags);
        const result = await runBackup(
          {
            stack,
            target,
            backupsDir: path.resolve(flags.out ?? "backups"),
            keep,
            fallbackRelease: releaseFromOutputs(outputs),
          },
          { io, onInterrupt },
        );
        return result.archive;
      },
    },
  );
  return EXIT.ok;
}

if (require.main === module) exitWith(() => teardownMain(process.argv.slice(2)));
