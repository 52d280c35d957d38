import ipaddr from "ipaddr.js";
import type { FirewallRule } from "./firewall";
import type { ServerInputs } from "./server";

/** The roles of the stack's VMs the pack knows; the meeting VM carries no role label. */
export const KNOWN_ROLES = ["meeting", "turn", "bridge", "recorder"] as const;

export const roleOf = (labels: Record<string, string> | undefined): string => labels?.role ?? "meeting";

/** Violations of "every firewall and server has a role the pack knows", so none escapes its checks. */
export function unknownRole(labels: Record<string, string> | undefined): string[] {
  const role = roleOf(labels);
  if ((KNOWN_ROLES as readonly string[]).includes(role)) return [];
  return [
    `label 'role' is '${role}'; the policy pack knows the meeting VM (no role label), 'turn', 'bridge' and 'recorder', ` +
      "so this resource would escape every role's checks",
  ];
}

export interface Expected {
  protocol: "tcp" | "udp";
  port: string;
  why: string;
}

const PORT_RE = /^\d{1,5}$/;
const RANGE_RE = /^\d{1,5}-\d{1,5}$/;

/** What a TURN firewall must open to the internet, from the ports its labels declare. */
function expectedTurnPorts(labels: Record<string, string> | undefined): Expected[] | string {
  const tls = labels?.["turn-tls-port"];
  const plain = labels?.["turn-port"];
  const relay = labels?.["turn-relay-ports"];
  if (!tls || !PORT_RE.test(tls) || !plain || !PORT_RE.test(plain) || !relay || !RANGE_RE.test(relay)) {
    return (
      "labels 'turn-tls-port', 'turn-port' and 'turn-relay-ports' must name the relay's ports " +
      `(got ${JSON.stringify({ tls, plain, relay })}), so the policy can check the rules against them`
    );
  }
  return [
    { protocol: "tcp", port: "80", why: "Let's Encrypt's HTTP-01 challenge" },
    { protocol: "tcp", port: tls, why: "TURN over TLS" },
    { protocol: "tcp", port: plain, why: "TURN over TCP" },
    { protocol: "udp", port: plain, why: "TURN over UDP" },
    { protocol: "udp", port: relay, why: "the relay ports" },
  ];
}

const openTo = (rule: FirewallRule) => {
  const families = { v4: false, v6: false };
  for (const cidr of rule.sourceIps ?? []) {
    try {
      const [address, prefix] = ipaddr.parseCIDR(cidr);
      if (prefix === 0) families[address.kind() === "ipv4" ? "v4" : "v6"] = true;
    } catch {
      // Not a CIDR: the provider refuses it.
    }
  }
  return families;
};

/**
 * Violations of "a TURN relay's firewall is exact": it opens the relay's ports (TLS, plain TURN over
 * TCP and UDP, the relay range) and 80/tcp to IPv4 and IPv6, SSH at most, and nothing else.
 */
export function turnFirewallNotExact(
  rules: FirewallRule[] | undefined,
  labels?: Record<string, string>,
): string[] {
  const expected = expectedTurnPorts(labels);
  if (typeof expected === "string") return [expected];
  return firewallNotExact(
    rules,
    expected,
    "the TURN relay does not serve; it opens only its TURN ports, the relay range, 80/tcp for Let's Encrypt and SSH",
  );
}

/**
 * Violations of "this firewall opens exactly `expected` to IPv4 and IPv6, SSH at most, and nothing
 * else"; `otherwise` ends the message about a rule it should not have.
 */
export function firewallNotExact(
  rules: FirewallRule[] | undefined,
  expected: readonly Expected[],
  otherwise: string,
): string[] {
  const problems: string[] = [];
  for (const want of expected) {
    const open = { v4: false, v6: false };
    for (const rule of rules ?? []) {
      if ((rule.direction ?? "in") !== "in" || rule.protocol !== want.protocol || rule.port !== want.port)
        continue;
      const world = openTo(rule);
      open.v4 ||= world.v4;
      open.v6 ||= world.v6;
    }
    const missing = [open.v4 ? undefined : "0.0.0.0/0", open.v6 ? undefined : "::/0"].filter(Boolean);
    if (missing.length > 0) {
      problems.push(
        `no inbound rule opens ${want.port}/${want.protocol} to ${missing.join(" and ")}; clients need it for ${want.why}`,
      );
    }
  }
  (rules ?? []).forEach((rule, i) => {
    if ((rule.direction ?? "in") !== "in") return;
    const known = expected.some((want) => want.protocol === rule.protocol && want.port === rule.port);
    const ssh = rule.protocol === "tcp" && rule.port === "22";
    if (!known && !ssh) {
      problems.push(`rules[${i}] opens ${rule.port ?? "any"}/${rule.protocol ?? "any"}, which ${otherwise}`);
    }
  });
  return problems;
}

/**
 * Violations of "a bridge's firewall is exact": media (10000/udp) from IPv4 and IPv6, SSH at most,
 * nothing else. XMPP and Octo's private path use the private network, which cloud firewalls do not filter.
 */
export function bridgeFirewallNotExact(rules: FirewallRule[] | undefined): string[] {
  return firewallNotExact(
    rules,
    [{ protocol: "udp", port: "10000", why: "media" }],
    "a bridge does not serve; it opens only 10000/udp for media and SSH",
  );
}

/** Violations of "the TURN relay runs a pinned coturn" (server label coturn-version). */
export function unpinnedCoturn(server: ServerInputs): string[] {
  const version = server.labels?.["coturn-version"];
  if (version !== undefined && /^\d+\.\d+\.\d+$/.test(version)) return [];
  return [
    `label 'coturn-version' is ${version === undefined ? "missing" : `'${version}'`}; ` +
      "it must be the upstream coturn version the VM pins, like 4.6.1",
  ];
}
