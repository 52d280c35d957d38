import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BridgeSpec } from "../config/bridges";
import type { Settings } from "../config/schema";
import { VM_LAYOUT } from "../config/versions";
import type { PrivateNetwork } from "./privateNetwork";
import { renderBridgeCloudInit } from "./render/bridgeCloudInit";
import { bridgeNickname } from "./render/bridgeEnv";
import { bridgeFirewallRules } from "./render/firewall";
import { privateAddress } from "./render/privateNetwork";
import { Satellite } from "./satellite";

export interface BridgeArgs {
  settings: Settings;
  bridge: BridgeSpec;
  network: PrivateNetwork;
  /** JVB_AUTH_PASSWORD from the stack's state, shared with the meeting VM's Prosody. */
  jvbPassword: pulumi.Output<string>;
}

/** The hostname of bridge N: its reverse DNS and A/AAAA records. */
export const bridgeHostname = (settings: Settings, index: number) =>
  `${bridgeNickname(index)}.${settings.domain}`;

/**
 * One extra videobridge: a satellite VM on the private network running the meeting VM's pinned `jvb`,
 * and a drain step that runs when the bridge is removed, before its server is deleted
 * (infra/gate/drainBridge.ts; see docs/bridges.md).
 */
export class Bridge extends pulumi.ComponentResource {
  readonly vm: Satellite;
  readonly nickname: string;
  readonly privateIp: string;

  constructor(name: string, args: BridgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:bridge:Bridge", name, {}, opts);
    const { settings, bridge } = args;
    this.nickname = bridgeNickname(bridge.index);
    this.privateIp = privateAddress("bridge", bridge.index);
    const jvbPassword = args.jvbPassword;
    this.vm = new Satellite(
      name,
      {
        settings,
        role: {
          role: "bridge",
          serverType: settings.bridges.serverType,
          location: bridge.location,
          image: settings.image,
          hostname: bridgeHostname(settings, bridge.index),
          publishDns: true,
          firewallRules: bridgeFirewallRules(settings.adminCidrs),
          labels: {
            "jitsi-release": settings.jitsiRelease.tag,
            "jitsi-commit": settings.jitsiRelease.commit,
            "bridge-index": String(bridge.index),
          },
          privateNetwork: { network: args.network, ip: this.privateIp },
          // A bridge holds no state, and scaling in must be able to delete it whatever jitsi:deleteProtection says.
          protect: false,
          userData: (hostKey, addresses) =>
            pulumi
              .all([jvbPassword, hostKey, addresses.ipv4Address, addresses.ipv6Address])
              .apply(([password, key, ipv4, ipv6]) =>
                renderBridgeCloudInit({
                  settings,
                  bridge,
                  jvbPassword: password,
                  advertiseIps: [ipv4, ipv6],
                  sshHostKey: key,
                }),
              ),
        },
      },
      { parent: this },
    );

    // Runs on the deployer's machine when this bridge leaves the program (jitsi:bridges lowered), and
    // before the server goes: it depends on the server, so Pulumi deletes it first. It stops new meetings
    // from landing here, then waits for the participants to leave, at most jitsi:bridgeDrainMinutes.
    new command.local.Command(
      `${name}-drain`,
      {
        delete: "node --require ts-node/register/transpile-only infra/gate/drainBridge.ts",
        environment: {
          DRAIN_BRIDGE: this.nickname,
          DRAIN_HOST: this.vm.addresses.ipv4Address,
          DRAIN_HOST_KEY: this.vm.sshHostPublicKey,
          DRAIN_USER: VM_LAYOUT.sshUser,
          DRAIN_MINUTES: String(settings.bridges.drainMinutes),
        },
      },
      { parent: this, dependsOn: [this.vm.server] },
    );
    this.registerOutputs({ serverId: this.vm.serverId });
  }
}
