import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import { firstHostAddress } from "./render/addresses";
import { resourceLabels } from "./labels";

export interface PublicIpsArgs {
  settings: Settings;
  /** Where the server that takes them runs; the stack's location unless set. */
  location?: string;
  /** Hetzner delete protection; jitsi:deleteProtection unless set. */
  deleteProtection?: boolean;
}

/**
 * Primary IPv4 and IPv6 addresses, created apart from the server so they outlive a server
 * replacement: DNS, reverse DNS and the bridge's advertised addresses do not churn.
 */
export class PublicIps extends pulumi.ComponentResource {
  readonly ipv4: hcloud.PrimaryIp;
  readonly ipv6: hcloud.PrimaryIp;
  /** The IPv4 address. */
  readonly ipv4Address: pulumi.Output<string>;
  /** The server's IPv6 address: the first host of the primary /64. */
  readonly ipv6Address: pulumi.Output<string>;

  constructor(name: string, args: PublicIpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:network:PublicIps", name, {}, opts);
    const { settings } = args;
    const common = {
      location: args.location ?? settings.location,
      assigneeType: "server",
      autoDelete: false,
      deleteProtection: args.deleteProtection ?? settings.deleteProtection,
      labels: resourceLabels(settings),
    };
    this.ipv4 = new hcloud.PrimaryIp(`${name}-ipv4`, { ...common, type: "ipv4" }, { parent: this });
    this.ipv6 = new hcloud.PrimaryIp(`${name}-ipv6`, { ...common, type: "ipv6" }, { parent: this });
    this.ipv4Address = this.ipv4.ipAddress;
    this.ipv6Address = this.ipv6.ipNetwork.apply(firstHostAddress);
    this.registerOutputs({ ipv4Address: this.ipv4Address, ipv6Address: this.ipv6Address });
  }
}
