import { describe, expect, it } from "vitest";
import { turnFirewallLabels, turnFirewallRules } from "../../infra/render/turnFirewall";
import type { FirewallRule } from "../../policy/firewall";
import { roleOf, turnFirewallNotExact, unknownRole, unpinnedCoturn } from "../../policy/turn";
import { settingsWith } from "../helpers/settings";

const turn = settingsWith().turn;
const labels = turnFirewallLabels(turn);
const rules = (): FirewallRule[] => turnFirewallRules(turn, ["203.0.113.7/32"]);

describe("a TURN relay's firewall is exact", () => {
  it("accepts the rules the program builds, with and without admin ranges", () => {
    expect(turnFirewallNotExact(rules(), labels)).toEqual([]);
    expect(turnFirewallNotExact(turnFirewallRules(turn, []), labels)).toEqual([]);
  });

  it("names a TURN port that is not open to both address families", () => {
    const ipv4Only = rules().map((r) =>
      r.port === "3478" && r.protocol === "udp" ? { ...r, sourceIps: ["0.0.0.0/0"] } : r,
    );
    expect(turnFirewallNotExact(ipv4Only, labels)).toEqual([
      "no inbound rule opens 3478/udp to ::/0; clients need it for TURN over UDP",
    ]);
    const noTls = rules().filter((r) => r.port !== "443");
    expect(turnFirewallNotExact(noTls, labels)).toEqual([
      "no inbound rule opens 443/tcp to 0.0.0.0/0 and ::/0; clients need it for TURN over TLS",
    ]);
  });

  it("refuses any other open port, such as coturn's CLI or web admin", () => {
    const extra: FirewallRule = {
      direction: "in",
      protocol: "tcp",
      port: "5766",
      sourceIps: ["203.0.113.7/32"],
    };
    expect(turnFirewallNotExact([...rules(), extra], labels)).toEqual([
      "rules[6] opens 5766/tcp, which the TURN relay does not serve; it opens only its TURN ports, the relay range, 80/tcp for Let's Encrypt and SSH",
    ]);
    const wideRelay = rules().map((r) => (r.port === "49152-65535" ? { ...r, port: "1024-65535" } : r));
    expect(turnFirewallNotExact(wideRelay, labels).join("\n")).toMatch(
      /opens 1024-65535\/udp, which the TURN relay does not serve/,
    );
  });

  it("needs the labels that declare the relay's ports", () => {
    expect(turnFirewallNotExact(rules(), { role: "turn" })).toEqual([
      expect.stringMatching(
        /^labels 'turn-tls-port', 'turn-port' and 'turn-relay-ports' must name the relay's ports/,
      ),
    ]);
  });
});

describe("roles and the pinned coturn", () => {
  it("a resource without a role label is the meeting VM; an unknown role is a violation", () => {
    expect(roleOf(undefined)).toBe("meeting");
    expect(roleOf({ role: "turn" })).toBe("turn");
    expect(unknownRole({ stack: "dev" })).toEqual([]);
    expect(unknownRole({ role: "turn" })).toEqual([]);
    expect(unknownRole({ role: "bridge" })).toEqual([]);
    expect(unknownRole({ role: "recorder" })).toEqual([]);
    expect(unknownRole({ role: "jigasi" })).toEqual([
      expect.stringMatching(/^label 'role' is 'jigasi'; the policy pack knows/),
    ]);
  });

  it("the TURN server names the coturn version it pins", () => {
    expect(unpinnedCoturn({ labels: { "coturn-version": "4.6.1" } })).toEqual([]);
    expect(unpinnedCoturn({ labels: { "coturn-version": "latest" } })).toEqual([
      "label 'coturn-version' is 'latest'; it must be the upstream coturn version the VM pins, like 4.6.1",
    ]);
    expect(unpinnedCoturn({ labels: {} })[0]).toMatch(/^label 'coturn-version' is missing/);
  });
});
