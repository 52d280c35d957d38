import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";

export interface ReadinessGateArgs {
  settings: Settings;
  /** Runs again whenever one of these changes (the server id: a new server means a new wait). */
  triggers: pulumi.Input<unknown>[];
}

/**
 * Holds `pulumi up` until the meeting site answers over HTTPS with a valid certificate. It runs on
 * the deployer's machine (Pulumi runs commands in the project directory) and needs no SSH.
 *
 * A gate that timed out checks again on the next `pulumi up`: the command provider saves a failed
 * create with its error (a resource with init errors), and the engine updates such a resource on the
 * next run; with no `update` command of its own, the update runs `create`, the same wait. Meanwhile
 * the VM keeps retrying its start (jitsi-meet.service), so the second wait sees what the retries fixed.
 */
export class ReadinessGate extends pulumi.ComponentResource {
  readonly message: pulumi.Output<string>;

  constructor(name: string, args: ReadinessGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:deploy:ReadinessGate", name, {}, opts);
    const { settings } = args;
    const wait = new command.local.Command(
      `${name}-wait-for-https`,
      {
        create: "node --require ts-node/register/transpile-only infra/gate/waitForHttps.ts",
        environment: {
          GATE_URL: `https://${settings.domain}/`,
          GATE_TIMEOUT_SECONDS: String(settings.readinessTimeoutSeconds),
          GATE_STAGING: String(settings.acmeStaging),
        },
        triggers: args.triggers,
      },
      { parent: this },
    );
    this.message = wait.stdout;
    this.registerOutputs({ message: this.message });
  }
}
