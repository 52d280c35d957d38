import { describe, expect, it } from "vitest";
import { firewallRules } from "../../infra/render/firewall";
import {
  type FirewallRule,
  meetingPortsClosed,
  portIncludes,
  sshOpenToInternet,
} from "../../policy/firewall";

const web = (port: string, protocol = "tcp", sourceIps = ["0.0.0.0/0", "::/0"]): FirewallRule => ({
  direction: "in",
  protocol,
  port,
  sourceIps,
});
const MEETING = [web("80"), web("443"), web("10000", "udp")];

describe("SSH is never open to the whole internet", () => {
  it("accepts the firewall the program builds, with and without admin ranges", () => {
    expect(sshOpenToInternet(firewallRules([]))).toEqual([]);
    expect(sshOpenToInternet(firewallRules(["203.0.113.7/32", "2001:db8:1234::/48"]))).toEqual([]);
  });

  it.each([
    ["IPv4 anywhere", web("22", "tcp", ["0.0.0.0/0"]), "0.0.0.0/0"],
    ["IPv6 anywhere", web("22", "tcp", ["203.0.113.7/32", "::/0"]), "::/0"],
    ["a range that includes 22", web("20-30", "tcp", ["0.0.0.0/0"]), "0.0.0.0/0"],
    ["every port", web("any", "tcp", ["::/0"]), "::/0"],
    ["no port at all", { direction: "in", protocol: "tcp", sourceIps: ["0.0.0.0/0"] }, "0.0.0.0/0"],
    ["a non-canonical zero prefix", web("22", "tcp", ["10.0.0.0/0"]), "10.0.0.0/0"],
  ])("flags SSH from %s and names the range", (_what, rule, range) => {
    const violations = sshOpenToInternet([...MEETING, rule as FirewallRule]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("rules[3] opens SSH");
    expect(violations[0]).toContain(range);
    expect(violations[0]).toContain("jitsi:adminCidrs");
  });

  it("ignores outbound rules, UDP 22 and ranges that stop short of 22", () => {
    expect(
      sshOpenToInternet([
        { direction: "out", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"] },
        web("22", "udp"),
        web("23-80"),
        web("1-21"),
      ]),
    ).toEqual([]);
  });
});

describe("the meeting ports are open to participants", () => {
  it("accepts the firewall the program builds", () => {
    expect(meetingPortsClosed(firewallRules(["203.0.113.7/32"]))).toEqual([]);
  });

  it("accepts a port range that covers a meeting port", () => {
    expect(meetingPortsClosed([web("80-443"), web("10000-10010", "udp")])).toEqual([]);
  });

  it("names each port that is closed, and the family it is closed to", () => {
    const violations = meetingPortsClosed([web("80"), web("443", "tcp", ["0.0.0.0/0"])]);
    expect(violations).toEqual([
      expect.stringMatching(/443\/tcp to ::\/0;.*web app/),
      expect.stringMatching(/10000\/udp to 0\.0\.0\.0\/0 and ::\/0;.*videobridge/),
    ]);
  });

  it("does not count 10000/tcp, an outbound rule, or admin-only sources as open", () => {
    const violations = meetingPortsClosed([
      web("80"),
      web("443", "tcp", ["203.0.113.0/24", "2001:db8::/32"]),
      web("10000", "tcp"),
      { direction: "out", protocol: "udp", port: "10000", sourceIps: ["0.0.0.0/0", "::/0"] },
    ]);
    expect(violations).toHaveLength(2);
    expect(violations.join("\n")).toMatch(/443\/tcp/);
    expect(violations.join("\n")).toMatch(/10000\/udp/);
  });

  it("flags a firewall with no rules at all", () => {
    expect(meetingPortsClosed(undefined)).toHaveLength(3);
  });
});

describe("hcloud port fields", () => {
  it.each([
    ["22", 22, true],
    ["20-30", 22, true],
    ["any", 22, true],
    [undefined, 22, true],
    ["2222", 22, false],
    ["23-30", 22, false],
    ["garbage", 22, false],
  ])("'%s' includes %d: %s", (field, port, expected) => {
    expect(portIncludes(field, port)).toBe(expected);
  });
});
