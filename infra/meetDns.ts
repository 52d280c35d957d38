import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";

export interface MeetDnsArgs {
  settings: Settings;
  ipv4: pulumi.Input<string>;
  ipv6: pulumi.Input<string>;
  /** The name of the records; the meeting hostname unless set (a satellite's own name, like the TURN relay's). */
  hostname?: string;
}

/**
 * A and AAAA records for the meeting hostname. DNS-only (`proxied: false`): Cloudflare's proxy
 * carries HTTP, not the bridge's UDP media, and it would also break the ACME HTTP-01 challenge.
 */
export class MeetDns extends pulumi.ComponentResource {
  readonly records: cloudflare.DnsRecord[];

  constructor(name: string, args: MeetDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:dns:MeetDns", name, {}, opts);
    const { settings } = args;
    this.records = (
      [
        ["a", "A", args.ipv4],
        ["aaaa", "AAAA", args.ipv6],
      ] as const
    ).map(
      ([id, type, content]) =>
        new cloudflare.DnsRecord(
          `${name}-${id}`,
          {
            zoneId: settings.cloudflareZoneId,
            name: args.hostname ?? settings.domain,
            type,
            content,
            proxied: false,
            ttl: settings.dnsTtl,
            comment: `jitsi-stack ${settings.stack}`,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({});
  }
}
