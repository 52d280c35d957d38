import type { TurnSettings } from "../../config/turn";
import { type FirewallRule, inboundRules, type PublicService } from "./firewall";

/** What the TURN VM opens to the internet, and nothing else (SSH only from the admin CIDRs). */
export function turnServices(turn: TurnSettings): PublicService[] {
  return [
    {
      protocol: "tcp",
      port: "80",
      description: "HTTP: Let's Encrypt HTTP-01 challenge (certbot listens only while it renews)",
    },
    { protocol: "tcp", port: String(turn.tlsPort), description: "TURN over TLS" },
    { protocol: "tcp", port: String(turn.port), description: "TURN over TCP" },
    { protocol: "udp", port: String(turn.port), description: "TURN over UDP" },
    {
      protocol: "udp",
      port: `${turn.relayPorts.min}-${turn.relayPorts.max}`,
      description: "TURN relay ports (media to and from peers)",
    },
  ];
}

export function turnFirewallRules(turn: TurnSettings, adminCidrs: readonly string[]): FirewallRule[] {
  return inboundRules(turnServices(turn), adminCidrs);
}

/** Labels on the TURN firewall: they tell the policy pack which ports this firewall must open, and no more. */
export function turnFirewallLabels(turn: TurnSettings): Record<string, string> {
  return {
    role: "turn",
    "turn-tls-port": String(turn.tlsPort),
    "turn-port": String(turn.port),
    "turn-relay-ports": `${turn.relayPorts.min}-${turn.relayPorts.max}`,
  };
}
