import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import { resourceLabels } from "./labels";

export interface StateVolumeArgs {
  settings: Settings;
}

/**
 * The Hetzner Volume that holds the stack's state (Let's Encrypt account and certificate, Prosody's
 * data). Created apart from the server, like its IPs, so a settings change that replaces the server
 * re-issues nothing and needs no restore. Hetzner formats it ext4 once, at creation; the VM only mounts it.
 */
export class StateVolume extends pulumi.ComponentResource {
  readonly volume: hcloud.Volume;
  /** The block device the VM sees, by Hetzner's stable id. */
  readonly device: pulumi.Output<string>;

  constructor(name: string, args: StateVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:storage:StateVolume", name, {}, opts);
    const { settings } = args;
    this.volume = new hcloud.Volume(
      `${name}-state`,
      {
        size: settings.stateVolumeGb,
        location: settings.location,
        format: "ext4",
        // The same protection as the server: what it holds outlives any one server.
        deleteProtection: settings.deleteProtection,
        labels: resourceLabels(settings),
      },
      { parent: this },
    );
    this.device = pulumi.interpolate`/dev/disk/by-id/scsi-0HC_Volume_${this.volume.id}`;
    this.registerOutputs({ device: this.device });
  }
}
