import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Settings } from "../config/schema";
import { COTURN } from "../config/versions";
import { renderTurnCloudInit } from "./render/turnCloudInit";
import { turnFirewallLabels, turnFirewallRules } from "./render/turnFirewall";
import { Satellite } from "./satellite";

export interface TurnServerArgs {
  settings: Settings;
  /** The configured shared secret; one is generated when the stack sets none. */
  secret?: pulumi.Output<string>;
}

/**
 * The TURN relay: coturn on a small VM of its own, serving TURN over TLS on 443 and TURN on 3478 at
 * `turn.<domain>`, with time-limited credentials from a secret it shares with Prosody.
 */
export class TurnServer extends pulumi.ComponentResource {
  /** Shared with Prosody (TURN_CREDENTIALS), kept in state. */
  readonly secret: pulumi.Output<string>;
  readonly vm: Satellite;

  constructor(name: string, args: TurnServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:turn:TurnServer", name, {}, opts);
    const { settings } = args;
    const { turn } = settings;
    this.secret = pulumi.secret(
      args.secret ??
        new random.RandomPassword(`${name}-secret`, { length: 48, special: false }, { parent: this }).result,
    );
    const secret = this.secret;
    this.vm = new Satellite(
      name,
      {
        settings,
        role: {
          role: "turn",
          serverType: turn.serverType,
          location: turn.location,
          image: COTURN.image,
          hostname: turn.hostname,
          publishDns: true,
          firewallRules: turnFirewallRules(turn, settings.adminCidrs),
          labels: { ...turnFirewallLabels(turn), "coturn-version": COTURN.version },
          userData: (hostKey) =>
            pulumi
              .all([secret, hostKey])
              .apply(([value, key]) => renderTurnCloudInit({ settings, secret: value, sshHostKey: key })),
        },
      },
      { parent: this },
    );
    this.registerOutputs({ serverId: this.vm.serverId });
  }
}
