import ipaddr from "ipaddr.js";

/** One rule of an `hcloud.Firewall`, as the policy sees its inputs. */
export interface FirewallRule {
  direction?: string;
  protocol?: string;
  port?: string;
  sourceIps?: string[];
  description?: string;
}

/** Ports every participant must reach: web (HTTP-01 and the redirect), HTTPS and the videobridge's media port. */
export const MEETING_PORTS = [
  { protocol: "tcp", port: 80, why: "Let's Encrypt HTTP-01 and the HTTPS redirect" },
  { protocol: "tcp", port: 443, why: "the web app and XMPP over WebSocket" },
  { protocol: "udp", port: 10000, why: "the videobridge's media" },
] as const;

const SSH_PORT = 22;

/** Whether an hcloud port field ("22", "20-30", "any" or unset) includes `port`. */
export function portIncludes(field: string | undefined, port: number): boolean {
  if (field === undefined || field === "" || field === "any") return true;
  const range = /^(\d+)(?:-(\d+))?$/.exec(field.trim());
  if (!range) return false;
  const low = Number(range[1]);
  const high = range[2] === undefined ? low : Number(range[2]);
  return port >= low && port <= high;
}

/** The CIDRs in `sources` that cover a whole address family (prefix length 0), by family. */
function wholeInternet(sources: string[] | undefined): { v4: string[]; v6: string[] } {
  const found = { v4: [] as string[], v6: [] as string[] };
  for (const cidr of sources ?? []) {
    try {
      const [address, prefix] = ipaddr.parseCIDR(cidr);
      if (prefix === 0) found[address.kind() === "ipv4" ? "v4" : "v6"].push(cidr);
    } catch {
      // Not a CIDR: the provider rejects it; this policy has nothing to say about it.
    }
  }
  return found;
}

const isInbound = (rule: FirewallRule) => (rule.direction ?? "in") === "in";

/** Violations of "no firewall rule opens SSH (22/tcp) to 0.0.0.0/0 or ::/0". */
export function sshOpenToInternet(rules: FirewallRule[] | undefined): string[] {
  return (rules ?? []).flatMap((rule, i) => {
    if (!isInbound(rule) || rule.protocol !== "tcp" || !portIncludes(rule.port, SSH_PORT)) return [];
    const world = wholeInternet(rule.sourceIps);
    const open = [...world.v4, ...world.v6];
    if (open.length === 0) return [];
    return [
      `rules[${i}] opens SSH (22/tcp, port '${rule.port ?? "any"}') to ${open.join(" and ")}; ` +
        "list admin ranges like 203.0.113.7/32 in jitsi:adminCidrs instead",
    ];
  });
}

/** Violations of "the firewall opens 80/tcp, 443/tcp and 10000/udp" to IPv4 and IPv6 participants. */
export function meetingPortsClosed(rules: FirewallRule[] | undefined): string[] {
  return MEETING_PORTS.flatMap(({ protocol, port, why }) => {
    const open = { v4: false, v6: false };
    for (const rule of rules ?? []) {
      if (!isInbound(rule) || rule.protocol !== protocol || !portIncludes(rule.port, port)) continue;
      const world = wholeInternet(rule.sourceIps);
      open.v4 ||= world.v4.length > 0;
      open.v6 ||= world.v6.length > 0;
    }
    const missing = [open.v4 ? undefined : "0.0.0.0/0", open.v6 ? undefined : "::/0"].filter(Boolean);
    if (missing.length === 0) return [];
    return [
      `no inbound rule opens ${port}/${protocol} to ${missing.join(" and ")}; ` +
        `participants need it for ${why}`,
    ];
  });
}
