import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Settings } from "../config/schema";
import { resourceLabels } from "./labels";
import { MeetDns } from "./meetDns";
import type { PrivateAttachment } from "./privateNetwork";
import { PublicIps } from "./publicIps";
import type { FirewallRule } from "./render/firewall";

/** The SSH host key a satellite presents, generated in state so clients can pin it. */
export interface HostKey {
  privateKey: string;
  publicKey: string;
}

/** What makes one kind of satellite VM (TURN relay, bridge, recorder) differ from another: data only. */
export interface SatelliteRole {
  /** The `role` label; the policy pack reads it. */
  role: string;
  serverType: string;
  location: string;
  image: string;
  /** The VM's own name: reverse DNS, and A/AAAA records when `publishDns`. */
  hostname: string;
  /** DNS-only A/AAAA records for `hostname`, created before the server boots. */
  publishDns: boolean;
  firewallRules: FirewallRule[];
  /** More labels on the firewall and server, e.g. the pinned version of what the VM runs. */
  labels?: Record<string, string>;
  /**
   * Hetzner delete and rebuild protection on the server and its IPs: jitsi:deleteProtection unless set.
   * A VM that holds no state and that scaling in must be able to delete (a bridge) sets false.
   */
  protect?: boolean;
  /** Joins the stack's private network at this address, from the server's first boot. */
  privateNetwork?: PrivateAttachment;
  /**
   * Renders the cloud-init document, which may hold secrets, once the VM's host key is known; the
   * primary IPs exist before the server, so it may name them (a bridge advertises them).
   */
  userData: (hostKey: pulumi.Output<HostKey>, addresses: PublicIps) => pulumi.Output<string>;
}

export interface SatelliteArgs {
  settings: Settings;
  role: SatelliteRole;
}

/**
 * A Hetzner VM that runs one part of the deployment beside the meeting VM: primary IPs that outlive
 * the server, its own exact firewall, a pinned SSH host key, reverse DNS and, if asked, its DNS records.
 * Resource names come from the component's name, so adding or removing another satellite renames nothing.
 */
export class Satellite extends pulumi.ComponentResource {
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly addresses: PublicIps;
  readonly dns?: MeetDns;
  readonly serverId: pulumi.Output<string>;
  readonly sshHostPublicKey: pulumi.Output<string>;

  constructor(name: string, args: SatelliteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:compute:Satellite", name, {}, opts);
    const { settings, role } = args;
    const labels = { ...resourceLabels(settings), role: role.role, ...role.labels };

    const protect = role.protect ?? settings.deleteProtection;
    this.addresses = new PublicIps(
      name,
      { settings, location: role.location, deleteProtection: protect },
      { parent: this },
    );
    const hostKey = new tls.PrivateKey(`${name}-ssh-host-key`, { algorithm: "ED25519" }, { parent: this });
    this.sshHostPublicKey = hostKey.publicKeyOpenssh.apply((key) => key.trim());
    // As for the meeting VM: the operators' keys come with cloud-init; Hetzner gets a key of this VM's
    // own, so a fingerprint uploaded elsewhere never clashes and Hetzner mails no root password.
    const deployKey = new tls.PrivateKey(`${name}-hetzner-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKey = new hcloud.SshKey(
      `${name}-ssh`,
      { publicKey: deployKey.publicKeyOpenssh.apply((key) => key.trim()), labels },
      { parent: this },
    );
    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { labels, rules: role.firewallRules },
      { parent: this },
    );
    if (role.publishDns) {
      this.dns = new MeetDns(
        name,
        {
          settings,
          hostname: role.hostname,
          ipv4: this.addresses.ipv4Address,
          ipv6: this.addresses.ipv6Address,
        },
        { parent: this },
      );
    }

    const userData = role.userData(
      pulumi.secret(
        pulumi
          .all([hostKey.privateKeyOpenssh, this.sshHostPublicKey])
          .apply(([privateKey, publicKey]) => ({ privateKey, publicKey })),
      ),
      this.addresses,
    );
    this.server = new hcloud.Server(
      `${name}-server`,
      {
        serverType: role.serverType,
        image: role.image,
        location: role.location,
        sshKeys: [sshKey.id],
        firewallIds: [this.firewall.id.apply(Number)],
        publicNets: [
          {
            ipv4Enabled: true,
            ipv4: this.addresses.ipv4.id.apply(Number),
            ipv6Enabled: true,
            ipv6: this.addresses.ipv6.id.apply(Number),
          },
        ],
        ...(role.privateNetwork
          ? { networks: role.privateNetwork.network.serverNetworks(role.privateNetwork.ip) }
          : {}),
        userData: pulumi.secret(userData),
        backups: false,
        deleteProtection: protect,
        rebuildProtection: protect,
        labels,
      },
      {
        parent: this,
        // The primary IPs can belong to one server at a time: free them before the new server takes them.
        deleteBeforeReplace: true,
        // The name resolves before the VM asks Let's Encrypt for it.
        dependsOn: this.dns?.records,
      },
    );
    this.serverId = this.server.id;

    for (const [family, ip, address] of [
      ["ipv4", this.addresses.ipv4, this.addresses.ipv4Address],
      ["ipv6", this.addresses.ipv6, this.addresses.ipv6Address],
    ] as const) {
      new hcloud.Rdns(
        `${name}-rdns-${family}`,
        { primaryIpId: ip.id.apply(Number), ipAddress: address, dnsPtr: role.hostname },
        { parent: this, dependsOn: [this.server] },
      );
    }
    this.registerOutputs({ serverId: this.serverId, sshHostPublicKey: this.sshHostPublicKey });
  }
}
