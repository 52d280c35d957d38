import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ipaddr from "ipaddr.js";
import { afterAll, describe, expect, it } from "vitest";
import { HETZNER_LOCATIONS, PRIVATE_NETWORK_CIDR } from "../../../config/versions";
import {
  PRIVATE_BLOCKS,
  privateAddress,
  privateNetworkPlan,
  privateXmppOverride,
} from "../../../infra/render/privateNetwork";
import { composeConfig, publishedPorts } from "../../helpers/compose";
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const inNetwork = (address: string, cidr = PRIVATE_NETWORK_CIDR) =>
  ipaddr.parse(address).match(ipaddr.parseCIDR(cidr));

describe("the private network's address plan", () => {
  it("puts the meeting VM, bridges and recorders inside 10.0.0.0/16, each kind in a block of its own", () => {
    const all = [
      privateAddress("meeting"),
      ...Array.from({ length: PRIVATE_BLOCKS.bridge.count }, (_, i) => privateAddress("bridge", i + 1)),
      ...Array.from({ length: PRIVATE_BLOCKS.recorder.count }, (_, i) => privateAddress("recorder", i + 1)),
    ];
    expect(new Set(all).size).toBe(all.length);
    const subnet = privateNetworkPlan("nbg1").subnet.ipRange;
    for (const address of all) {
      expect(inNetwork(address), address).toBe(true);
      expect(inNetwork(address, subnet), address).toBe(true);
      // .0 and .255 look like network and broadcast addresses to people reading them; .1 is Hetzner's gateway.
      expect(address).not.toMatch(/\.(0|255)$/);
      expect(address).not.toBe("10.0.0.1");
    }
    expect(privateAddress("meeting")).toBe("10.0.0.2");
    expect(privateAddress("bridge", 1)).toBe("10.0.1.1");
    expect(privateAddress("bridge", 4)).toBe("10.0.1.4");
    expect(privateAddress("recorder", 1)).toBe("10.0.2.1");
  });

  it("gives a host its address from its own number alone, so bridges and recorders never move each other", () => {
    const recorders = [1, 2, 3].map((i) => privateAddress("recorder", i));
    const bridgesBefore = [1, 2, 3, 4].map((i) => privateAddress("bridge", i));
    // However many bridges exist, bridge 4 and the recorders keep their addresses.
    expect([1, 2, 3].map((i) => privateAddress("recorder", i))).toEqual(recorders);
    expect(privateAddress("bridge", 4)).toBe(bridgesBefore[3]);
    for (const r of recorders) expect(bridgesBefore).not.toContain(r);
  });

  it("refuses a number outside the kind's block rather than overlapping another", () => {
    expect(() => privateAddress("bridge", 0)).toThrow(
      /bridge index must be a whole number from 1 to 250 \(got 0\)/,
    );
    expect(() => privateAddress("bridge", 251)).toThrow(/from 1 to 250/);
    expect(() => privateAddress("recorder", 1.5)).toThrow(/recorder index/);
    expect(() => privateAddress("meeting", 2)).toThrow(/meeting index must be a whole number from 1 to 1/);
  });

  it("has one subnet, in the network zone of the meeting VM's location", () => {
    const zones = Object.fromEntries(
      HETZNER_LOCATIONS.map((l) => [l, privateNetworkPlan(l).subnet.networkZone]),
    );
    expect(zones).toEqual({
      fsn1: "eu-central",
      nbg1: "eu-central",
      hel1: "eu-central",
      ash: "us-east",
      hil: "us-west",
      sin: "ap-southeast",
    });
    expect(privateNetworkPlan("hel1")).toEqual({
      ipRange: "10.0.0.0/16",
      subnet: { ipRange: "10.0.0.0/20", networkZone: "eu-central" },
    });
  });
});

describe("Prosody's XMPP port on the private network", () => {
  it("is published on the meeting VM's private address and nowhere else (docker-compose config)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "private-xmpp-"));
    dirs.push(dir);
    const override = path.join(dir, "docker-compose.private-xmpp.yml");
    writeFileSync(override, privateXmppOverride("10.0.0.2"));
    const before = composeConfig(dir, []);
    const after = composeConfig(dir, [override]);
    expect(after.stderr.split("\n").filter((l) => /ERROR/i.test(l))).toEqual([]);
    expect(after.status).toBe(0);
    const services = after.services!;
    expect(publishedPorts(services.prosody!)).toEqual([
      { hostIp: "10.0.0.2", published: "5222", target: "5222", protocol: "tcp" },
    ]);
    // Without the override the release publishes no XMPP port at all; with it, no other service's ports changed.
    const beforeServices = before.services!;
    expect(publishedPorts(beforeServices.prosody!)).toEqual([]);
    for (const [name, service] of Object.entries(services)) {
      if (name !== "prosody")
        expect(publishedPorts(service), name).toEqual(publishedPorts(beforeServices[name]!));
    }
  });

  it("refuses to publish it on a public address or outside the private network", () => {
    for (const bad of ["203.0.113.7", "0.0.0.0", "192.168.1.2", "10.1.0.2", "::", "10.0.0.2:5222", ""]) {
      expect(() => privateXmppOverride(bad), bad).toThrow(/only be published inside 10\.0\.0\.0\/16/);
    }
  });
});
