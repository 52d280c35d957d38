import { describe, expect, it } from "vitest";
import { turnFirewallLabels, turnFirewallRules } from "../../../infra/render/turnFirewall";
import { settingsWith } from "../../helpers/settings";

const portsOf = (rules: ReturnType<typeof turnFirewallRules>) =>
  rules.map((r) => `${r.port}/${r.protocol} from ${r.sourceIps.join(",")}`);

describe("the TURN VM's firewall", () => {
  it("opens TURN over TLS, TURN over TCP and UDP, the relay range and 80/tcp to everyone, SSH to admins", () => {
    expect(portsOf(turnFirewallRules(settingsWith().turn, ["203.0.113.7/32"]))).toEqual([
      "80/tcp from 0.0.0.0/0,::/0",
      "443/tcp from 0.0.0.0/0,::/0",
      "3478/tcp from 0.0.0.0/0,::/0",
      "3478/udp from 0.0.0.0/0,::/0",
      "49152-65535/udp from 0.0.0.0/0,::/0",
      "22/tcp from 203.0.113.7/32",
    ]);
  });

  it("has no SSH rule when no admin CIDR is set, and follows the port settings", () => {
    const turn = settingsWith({ turnPort: "3479", turnTlsPort: "5349", turnRelayPorts: "40000-44999" }).turn;
    expect(portsOf(turnFirewallRules(turn, []))).toEqual([
      "80/tcp from 0.0.0.0/0,::/0",
      "5349/tcp from 0.0.0.0/0,::/0",
      "3479/tcp from 0.0.0.0/0,::/0",
      "3479/udp from 0.0.0.0/0,::/0",
      "40000-44999/udp from 0.0.0.0/0,::/0",
    ]);
    expect(turnFirewallLabels(turn)).toEqual({
      role: "turn",
      "turn-tls-port": "5349",
      "turn-port": "3479",
      "turn-relay-ports": "40000-44999",
    });
  });
});
