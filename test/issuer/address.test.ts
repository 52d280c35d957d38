import { randomInt } from "node:crypto";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { addressKey, parseAddress } from "../../issuer/address";

/** ipaddr.js, an independent implementation, says what the /64 of an IPv6 address is. */
const oracle64 = (text: string) => `${ipaddr.IPv6.networkAddressFromCIDR(`${text}/64`).toString()}/64`;

/** A random IPv6 address in one of the textual forms clients and proxies send. */
function randomIpv6(): string {
  const groups = Array.from({ length: 8 }, () => (randomInt(4) === 0 ? 0 : randomInt(0x10000)));
  const full = groups.map((g) => g.toString(16)).join(":");
  const padded = groups.map((g) => g.toString(16).padStart(4, "0").toUpperCase()).join(":");
  return [full, padded, ipaddr.IPv6.parse(full).toString()][randomInt(3)]!;
}

describe("client address keys for the failed sign-in limit", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    ["::ffff:10.0.0.2", "10.0.0.2"],
    ["::ffff:a00:2", "10.0.0.2"],
    ["2001:DB8:0:0:1::1", "2001:db8::/64"],
    ["2001:db8::", "2001:db8::/64"],
    ["::1", "::/64"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    [" 203.0.113.9 ", "203.0.113.9"],
  ])("keys %s as %s", (input, key) => {
    expect(addressKey(input)).toBe(key);
  });

  it.each([
    "1.2.3",
    "01.2.3.4",
    "256.1.1.1",
    "0x7f.0.0.1",
    "1.2.3.4, 5.6.7.8",
    "fe80::1%eth0",
    "2001:db8::g",
    "",
    "evil",
    "[::1]",
  ])("refuses %j as an address", (input) => {
    expect(addressKey(input)).toBeUndefined();
  });

  it("agrees with ipaddr.js on the /64 of 2000 random IPv6 addresses in every textual form", () => {
    for (let i = 0; i < 2000; i++) {
      const address = randomIpv6();
      expect(addressKey(address), address).toBe(oracle64(address));
    }
  });

  it("agrees with ipaddr.js on what is IPv4, including IPv4-mapped IPv6", () => {
    for (let i = 0; i < 500; i++) {
      const v4 = [randomInt(256), randomInt(256), randomInt(256), randomInt(256)].join(".");
      expect(parseAddress(`::ffff:${v4}`)).toEqual({ kind: "ipv4", text: v4 });
      expect(parseAddress(v4)).toEqual({ kind: "ipv4", text: ipaddr.process(v4).toString() });
    }
  });
});
