/** The cloud firewall as data: exactly what Jitsi needs from the internet, plus SSH from admins. */

export interface FirewallRule {
  direction: "in";
  protocol: "tcp" | "udp";
  port: string;
  sourceIps: string[];
  description: string;
}

/** Both address families, so IPv6-only clients reach the meeting too. */
export const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** A port every participant must reach, opened to the whole internet. */
export type PublicService = Pick<FirewallRule, "protocol" | "port" | "description">;

const MEDIA: PublicService = { protocol: "udp", port: "10000", description: "Jitsi Videobridge media" };

const PUBLIC_SERVICES: readonly PublicService[] = [
  { protocol: "tcp", port: "80", description: "HTTP: Let's Encrypt HTTP-01 challenge and redirect to HTTPS" },
  { protocol: "tcp", port: "443", description: "HTTPS: Jitsi web app and XMPP websocket" },
  MEDIA,
];

/** Each service from anywhere, and SSH from the admin CIDRs only: no SSH rule at all when there are none. */
export function inboundRules(
  services: readonly PublicService[],
  adminCidrs: readonly string[],
): FirewallRule[] {
  const rules: FirewallRule[] = services.map((service) => ({
    direction: "in",
    ...service,
    sourceIps: [...ANYWHERE],
  }));
  if (adminCidrs.length > 0) {
    rules.push({
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: [...adminCidrs],
      description: "SSH from the admin CIDRs",
    });
  }
  return rules;
}

/** The meeting VM's inbound rules. */
export function firewallRules(adminCidrs: readonly string[]): FirewallRule[] {
  return inboundRules(PUBLIC_SERVICES, adminCidrs);
}

/**
 * A bridge VM's inbound rules: media from anywhere, SSH from the admin CIDRs, nothing else. Its XMPP
 * login to the meeting VM uses the private network, which Hetzner's firewalls do not filter; Octo's
 * bridge-to-bridge media goes to the advertised public addresses, on the same 10000/udp.
 */
export function bridgeFirewallRules(adminCidrs: readonly string[]): FirewallRule[] {
  return inboundRules([MEDIA], adminCidrs);
}
