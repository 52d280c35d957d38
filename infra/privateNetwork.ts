import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import { resourceLabels } from "./labels";
import { privateNetworkPlan } from "./render/privateNetwork";

export interface PrivateNetworkArgs {
  settings: Settings;
}

/** A server's place on the private network: pass it to `Satellite` (role.privateNetwork) or `JitsiHost`. */
export interface PrivateAttachment {
  network: PrivateNetwork;
  /** From `privateAddress(...)` in infra/render/privateNetwork.ts. */
  ip: string;
}

/**
 * Whether the stack needs its private network: only when a host besides the meeting VM talks to it,
 * so a single-VM stack keeps exactly the resources it had before.
 */
export function privateNetworkNeeded(settings: Settings): boolean {
  return settings.bridges.bridges.length > 0 || settings.recording.recorders.length > 0;
}

/**
 * The Hetzner network that joins the meeting VM, the bridges and the recorders: one network and one
 * cloud subnet in the meeting VM's network zone (the plan is in infra/render/privateNetwork.ts).
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  readonly network: hcloud.Network;
  readonly subnet: hcloud.NetworkSubnet;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:network:PrivateNetwork", name, {}, opts);
    const { settings } = args;
    const plan = privateNetworkPlan(settings.location);
    const labels = resourceLabels(settings);
    this.network = new hcloud.Network(
      `${name}-network`,
      // Unprotected: it holds no data, and it goes with the last bridge (or recorder).
      { ipRange: plan.ipRange, labels },
      { parent: this },
    );
    this.subnet = new hcloud.NetworkSubnet(
      `${name}-subnet`,
      {
        networkId: this.network.id.apply(Number),
        type: "cloud",
        networkZone: plan.subnet.networkZone,
        ipRange: plan.subnet.ipRange,
      },
      { parent: this },
    );
    this.registerOutputs({ networkId: this.network.id, subnetId: this.subnet.id });
  }

  /**
   * The `networks` entry of a server that joins at `ip`. Given at creation, not by a later
   * ServerNetwork, so the interface exists at first boot, when cloud-init and the services start.
   * `aliasIps: []` keeps the provider from detaching and re-attaching on every update.
   */
  serverNetworks(ip: string): hcloud.types.input.ServerNetwork[] {
    return [{ subnetId: this.subnet.id, ip, aliasIps: [] }];
  }
}
