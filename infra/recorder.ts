import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import type { PrivateNetwork } from "./privateNetwork";
import { inboundRules } from "./render/firewall";
import type { InternalPassword } from "./render/jitsiEnv";
import { privateAddress } from "./render/privateNetwork";
import { recorderName, type RecordingKeys, renderRecorderCloudInit } from "./render/recorder";
import { Satellite } from "./satellite";

export interface RecorderArgs {
  settings: Settings;
  /** The recorder's stable number, from 1: its name, private address and Jibri id come from it. */
  index: number;
  /** The stack's generated XMPP passwords; the recorder needs the two Jibri ones. */
  passwords: pulumi.Output<Record<InternalPassword, string>>;
  /** The bucket's keys, a Pulumi secret from the stack's config. */
  keys: pulumi.Output<RecordingKeys>;
  network: PrivateNetwork;
}

/**
 * One recorder: Jibri alone on a VM of its own, on the private network, recording one meeting at a time
 * and uploading each recording to the bucket. Nothing reaches it from the internet but SSH from the admins.
 */
export class Recorder extends pulumi.ComponentResource {
  readonly vm: Satellite;
  /** The recorder's stable number: its name, its private address and what verify calls it. */
  readonly index: number;
  readonly privateIp: string;

  constructor(name: string, args: RecorderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:recording:Recorder", name, {}, opts);
    const { settings, index } = args;
    this.index = index;
    this.privateIp = privateAddress("recorder", index);
    const secrets = pulumi.all([args.passwords, args.keys]);
    this.vm = new Satellite(
      name,
      {
        settings,
        role: {
          role: "recorder",
          serverType: settings.recording.serverType,
          location: settings.location,
          image: settings.image,
          hostname: `${recorderName(index)}.${settings.domain}`,
          publishDns: false,
          firewallRules: inboundRules([], settings.adminCidrs),
          labels: { "jitsi-release": settings.jitsiRelease.tag },
          privateNetwork: { network: args.network, ip: this.privateIp },
          userData: (hostKey) =>
            pulumi
              .all([secrets, hostKey])
              .apply(([[passwords, keys], key]) =>
                renderRecorderCloudInit({ settings, index, passwords, keys, sshHostKey: key }),
              ),
        },
      },
      { parent: this },
    );
    this.registerOutputs({ serverId: this.vm.serverId, privateIp: this.privateIp });
  }
}
