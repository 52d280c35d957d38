import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Settings } from "../config/schema";
import { resourceLabels } from "./labels";
import type { PrivateAttachment } from "./privateNetwork";
import type { PublicIps } from "./publicIps";
import type { StateVolume } from "./stateVolume";
import { firewallRules } from "./render/firewall";

export interface JitsiHostArgs {
  settings: Settings;
  addresses: PublicIps;
  /** The volume with the stack's state; attached to whichever server is current. */
  stateVolume: StateVolume;
  /** The rendered cloud-init document; it holds secrets, so it must arrive as a Pulumi secret. */
  userData: pulumi.Output<string>;
  /**
   * What must exist before the server boots: the DNS records, so the web container's first ACME
   * validation finds the name (failed validations count against Let's Encrypt's limits).
   */
  bootAfter?: pulumi.Resource[];
  /** Joins the stack's private network at this address (bridges and recorders reach Prosody there). */
  privateNetwork?: PrivateAttachment;
}

/** The Hetzner VM that runs docker-jitsi-meet: SSH key, firewall, server, state volume attachment and reverse DNS. */
export class JitsiHost extends pulumi.ComponentResource {
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly serverId: pulumi.Output<string>;

  constructor(name: string, args: JitsiHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:compute:JitsiHost", name, {}, opts);
    const { settings, addresses } = args;
    const labels = resourceLabels(settings);

    // Hetzner refuses a second key with the same fingerprint in a project ("uniqueness_error"), so the
    // operators' keys, which other stacks or the console may have uploaded, never go there: cloud-init
    // installs them. Hetzner gets a key of this stack's own, which also stops it mailing a root password.
    const deployKey = new tls.PrivateKey(`${name}-hetzner-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKey = new hcloud.SshKey(
      `${name}-ssh`,
      { publicKey: deployKey.publicKeyOpenssh.apply((key) => key.trim()), labels },
      { parent: this },
    );
    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { labels, rules: firewallRules(settings.adminCidrs) },
      { parent: this },
    );

    this.server = new hcloud.Server(
      `${name}-server`,
      {
        serverType: settings.serverType,
        image: settings.image,
        location: settings.location,
        sshKeys: [sshKey.id],
        firewallIds: [this.firewall.id.apply(Number)],
        publicNets: [
          {
            ipv4Enabled: true,
            ipv4: addresses.ipv4.id.apply(Number),
            ipv6Enabled: true,
            ipv6: addresses.ipv6.id.apply(Number),
          },
        ],
        ...(args.privateNetwork
          ? { networks: args.privateNetwork.network.serverNetworks(args.privateNetwork.ip) }
          : {}),
        userData: pulumi.secret(args.userData),
        backups: settings.hetznerBackups,
        deleteProtection: settings.deleteProtection,
        rebuildProtection: settings.deleteProtection,
        labels: {
          ...labels,
          "jitsi-release": settings.jitsiRelease.tag,
          "jitsi-commit": settings.jitsiRelease.commit,
        },
      },
      {
        parent: this,
        // The primary IPs can belong to one server at a time: free them before the new server takes them.
        deleteBeforeReplace: true,
        dependsOn: args.bootAfter,
      },
    );
    this.serverId = this.server.id;

    new hcloud.VolumeAttachment(
      `${name}-state`,
      {
        volumeId: args.stateVolume.volume.id.apply(Number),
        serverId: this.server.id.apply(Number),
        automount: false,
      },
      // A replacement server gets the volume back: detach from the old one before it is deleted.
      { parent: this, deleteBeforeReplace: true },
    );

    for (const [family, ip, address] of [
      ["ipv4", addresses.ipv4, addresses.ipv4Address],
      ["ipv6", addresses.ipv6, addresses.ipv6Address],
    ] as const) {
      new hcloud.Rdns(
        `${name}-rdns-${family}`,
        { primaryIpId: ip.id.apply(Number), ipAddress: address, dnsPtr: settings.domain },
        { parent: this, dependsOn: [this.server] },
      );
    }
    this.registerOutputs({ serverId: this.serverId });
  }
}
