import { VM_LAYOUT } from "../../config/versions";
import { bridgeApi, sshLocalCall } from "../../scripts/lib/bridges/bridgeApi";
import { drainBridge, type DrainOptions, drainReport } from "../../scripts/lib/bridges/drain";
import type { SshTarget } from "../../scripts/lib/shared/ssh";

/**
 * The drain step `pulumi up` runs on the deployer's machine when a bridge is removed (the `delete` of
 * its command in infra/bridge.ts), before its server is deleted. It reaches the bridge's local API over
 * SSH, as verify does. If it cannot, it fails, and Pulumi keeps the bridge: a forgotten or impossible
 * drain never drops a meeting. JITSI_SKIP_DRAIN=<nickname,...> (or "all") lets a dead bridge go.
 */

export interface DrainGate {
  bridge: string;
  target: SshTarget;
  options: Pick<DrainOptions, "timeoutMs" | "pollMs">;
  skip: boolean;
}

export function fromEnvironment(env: NodeJS.ProcessEnv): DrainGate {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set; the drain step gets it from infra/bridge.ts`);
    return value;
  };
  const bridge = need("DRAIN_BRIDGE");
  const minutes = Number(need("DRAIN_MINUTES"));
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`DRAIN_MINUTES must be a positive number (got '${env.DRAIN_MINUTES}')`);
  const skipList = (env.JITSI_SKIP_DRAIN ?? "").split(",").map((s) => s.trim());
  return {
    bridge,
    target: {
      host: need("DRAIN_HOST"),
      port: Number(env.DRAIN_PORT ?? 22),
      user: need("DRAIN_USER"),
      jitsiDir: VM_LAYOUT.jitsiDir,
      identity: env.DRAIN_IDENTITY || undefined,
      hostPublicKey: need("DRAIN_HOST_KEY"),
    },
    options: { timeoutMs: minutes * 60_000, pollMs: Number(env.DRAIN_POLL_SECONDS ?? 15) * 1000 },
    skip: skipList.includes("all") || skipList.includes(bridge),
  };
}

export async function runDrainGate(gate: DrainGate, log: (line: string) => void): Promise<string> {
  if (gate.skip)
    return `${gate.bridge}: not drained (JITSI_SKIP_DRAIN); deleting it with whatever meetings it has.`;
  log(`${gate.bridge}: draining before deletion (no new meetings go to it)`);
  try {
    const result = await drainBridge(bridgeApi(sshLocalCall(gate.target)), {
      ...gate.options,
      log: (line) => log(`${gate.bridge}: ${line}`),
    });
    return drainReport(gate.bridge, result);
  } catch (error) {
    throw new Error(
      `${gate.bridge}: could not drain it (${(error as Error).message}), so it is kept. Open SSH to it for this machine (jitsi:adminCidrs) and run pulumi up again, or, if the bridge is dead, run JITSI_SKIP_DRAIN=${gate.bridge} pulumi up.`,
      { cause: error },
    );
  }
}

if (require.main === module) {
  let gate: DrainGate;
  try {
    gate = fromEnvironment(process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  runDrainGate(gate, (line) => console.error(line)).then(
    (message) => console.log(message),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
