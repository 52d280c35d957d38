import { describe, expect, it } from "vitest";
import { firewallRules } from "../../../infra/render/firewall";

const PUBLIC = [
  { direction: "in", protocol: "tcp", port: "80", sourceIps: ["0.0.0.0/0", "::/0"] },
  { direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"] },
  { direction: "in", protocol: "udp", port: "10000", sourceIps: ["0.0.0.0/0", "::/0"] },
];
const withoutDescriptions = (rules: ReturnType<typeof firewallRules>) =>
  rules.map(({ description: _d, ...rule }) => rule);

describe("cloud firewall", () => {
  it("opens exactly 80/tcp, 443/tcp and 10000/udp to IPv4 and IPv6, and nothing else, without admin CIDRs", () => {
    expect(withoutDescriptions(firewallRules([]))).toEqual(PUBLIC);
  });

  it("SSH is closed when no admin CIDR is set", () => {
    expect(firewallRules([]).some((rule) => rule.port === "22")).toBe(false);
  });

  it("opens SSH only to the admin CIDRs, IPv4 and IPv6 alike", () => {
    const admins = ["203.0.113.7/32", "2001:db8:1234::/48"];
    expect(withoutDescriptions(firewallRules(admins))).toEqual([
      ...PUBLIC,
      { direction: "in", protocol: "tcp", port: "22", sourceIps: admins },
    ]);
  });

  it("every rule says why it is there", () => {
    for (const rule of firewallRules(["203.0.113.7/32"])) expect(rule.description).toMatch(/\w{4,}/);
  });

  it("does not share the caller's CIDR list", () => {
    const admins = ["203.0.113.7/32"];
    const rules = firewallRules(admins);
    admins.push("0.0.0.0/0");
    expect(rules.at(-1)?.sourceIps).toEqual(["203.0.113.7/32"]);
  });
});
