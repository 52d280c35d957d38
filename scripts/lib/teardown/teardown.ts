import { type Io, OperationError } from "../shared/cli";
import { findLeftovers, stateResources, type StateResource } from "./leftovers";
import { pendingWarning, type RecorderHoldings } from "../recording/recordings";
import type { CommandRunner } from "../shared/runner";
import type { StackOutputs } from "../shared/stack-outputs";

export interface TeardownOptions {
  stack: string;
  skipBackup: boolean;
  /** --yes: no typed confirmation (CI). */
  assumeYes: boolean;
}

export interface TeardownDeps {
  io: Io;
  run: CommandRunner;
  readOutputs: (stack: string) => Promise<StackOutputs>;
  /** Makes the pre-teardown backup; throws when it fails. */
  backup: (outputs: StackOutputs) => Promise<string>;
  /** What each recorder still holds that is not in the bucket yet (stacks with recorders). */
  pendingRecordings?: (outputs: StackOutputs) => Promise<RecorderHoldings[]>;
  /** Asks a question and returns the typed answer; undefined when there is no terminal to ask. */
  ask?: (question: string) => Promise<string>;
}

/**
 * Backs up, asks for the stack name, runs `pulumi destroy`, and reports what outlived it. Every refusal
 * comes before anything is destroyed.
 */
export async function runTeardown(options: TeardownOptions, deps: TeardownDeps): Promise<void> {
  const { io, run, stack } = { ...deps, stack: options.stack };
  if (!options.assumeYes && !deps.ask) {
    throw new OperationError(
      `Teardown of '${stack}' needs the stack name typed at a terminal; in CI pass --yes. Nothing was destroyed.`,
    );
  }
  const outputs = await deps.readOutputs(stack);
  if (outputs.deleteProtection) {
    throw new OperationError(
      `Stack '${stack}' has delete protection on, so teardown refuses it. To lift it: pulumi config set jitsi:deleteProtection false --stack ${stack} && pulumi up --stack ${stack}; then run teardown again. Nothing was destroyed.`,
    );
  }

  // Recorders keep a recording until its upload is verified: destroying one loses what it still holds.
  if (outputs.recorders && outputs.recorders.length > 0 && deps.pendingRecordings) {
    for (const line of pendingWarning(await deps.pendingRecordings(outputs))) io.err(line);
  }

  if (options.skipBackup) {
    io.err("Skipping the backup (--skip-backup).");
  } else {
    try {
      const archive = await deps.backup(outputs);
      io.err(`Backup before teardown: ${archive}`);
      // The backup is data only: a stack deployed again takes its own settings, and restore checks the release.
      io.err(
        `  To bring its data (certificates, Prosody's data) into the stack once it is deployed again: npm run restore -- --stack ${stack} --from ${archive}`,
      );
    } catch (error) {
      throw new OperationError(
        `Teardown stopped because the backup failed: ${(error as Error).message} Fix that, or pass --skip-backup to destroy without a backup. Nothing was destroyed.`,
      );
    }
  }

  if (!options.assumeYes) {
    const answer = (
      await deps.ask!(
        `This destroys ${outputs.meetingUrl} (stack '${stack}'). Type the stack name to go on: `,
      )
    ).trim();
    if (answer !== stack) {
      throw new OperationError(`Teardown cancelled: '${answer}' is not '${stack}'. Nothing was destroyed.`);
    }
  }

  const before = await exportedResources(run, stack);
  io.err(`Running pulumi destroy --stack ${stack}`);
  const destroy = await run("pulumi", ["destroy", "--stack", stack, "--yes", "--non-interactive"], {
    inheritStdio: true,
    // Everything goes, the meeting VM first or alongside: draining bridges (infra/gate/drainBridge.ts)
    // would only wait, or fail halfway where this machine has no SSH to them.
    env: { JITSI_SKIP_DRAIN: "all" },
  });
  let after: StateResource[] | undefined;
  try {
    after = await exportedResources(run, stack);
  } catch (error) {
    io.err(`Could not list what is left: ${(error as Error).message}`);
  }
  const leftovers = findLeftovers(before, after ?? []);

  if (!after) {
    io.out(
      `Check the Hetzner and Cloudflare consoles for what is left; 'pulumi stack export --stack ${stack}' failed.`,
    );
  } else if (leftovers.length > 0) {
    io.out("Left behind (check the Hetzner and Cloudflare consoles):");
    for (const l of leftovers) io.out(`  ${l.what}: ${l.name} (id ${l.id}) - ${l.why}`);
  } else {
    io.out("Nothing billable is left in the stack.");
  }
  io.out(
    "Not managed by this stack, so not touched: snapshots made by hand in the Hetzner console, and the local backups in backups/.",
  );
  if (destroy.exitCode !== 0) {
    throw new OperationError(
      `pulumi destroy failed (exit ${destroy.exitCode}); see its output above, fix the cause and run teardown again.`,
    );
  }
  io.out(`Stack '${stack}' is destroyed. Remove its empty stack with: pulumi stack rm ${stack}`);
}

async function exportedResources(run: CommandRunner, stack: string): Promise<StateResource[]> {
  const result = await run("pulumi", ["stack", "export", "--stack", stack]);
  if (result.exitCode !== 0) {
    throw new OperationError(
      `pulumi stack export --stack ${stack} failed (${result.stderr.trim().split("\n").pop() ?? "no message"}).`,
    );
  }
  try {
    return stateResources(JSON.parse(result.stdout));
  } catch {
    throw new OperationError(`pulumi stack export --stack ${stack} did not print JSON.`);
  }
}
