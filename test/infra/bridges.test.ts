import { describe, expect, it } from "vitest";
import { bridgeFirewallRules } from "../../infra/render/firewall";
import { type PlannedResource, revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { StackOutputsSchema } from "../../scripts/lib/shared/stack-outputs";
import { exampleConfig, ofType, runProgram } from "../helpers/program";
import { cloudInitSchema, writtenFiles } from "../helpers/userData";

const SERVER = "hcloud:index/server:Server";
const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
const short = (type: string) => type.split(":").pop()!;
const bridgeResources = (resources: PlannedResource[], index: number) =>
  resources.filter((r) => r.name.startsWith(`jitsi-dev-bridge-${index}-`));
/** What a bridge is made of, by kind of resource and name. */
const bridgeShape = (index: number) =>
  [
    ["PrivateKey", `jitsi-dev-bridge-${index}-ssh-host-key`],
    ["PrivateKey", `jitsi-dev-bridge-${index}-hetzner-key`],
    ["Firewall", `jitsi-dev-bridge-${index}-firewall`],
    ["PrimaryIp", `jitsi-dev-bridge-${index}-ipv4`],
    ["PrimaryIp", `jitsi-dev-bridge-${index}-ipv6`],
    ["SshKey", `jitsi-dev-bridge-${index}-ssh`],
    ["DnsRecord", `jitsi-dev-bridge-${index}-a`],
    ["DnsRecord", `jitsi-dev-bridge-${index}-aaaa`],
    ["Server", `jitsi-dev-bridge-${index}-server`],
    ["Command", `jitsi-dev-bridge-${index}-drain`],
    ["Rdns", `jitsi-dev-bridge-${index}-rdns-ipv4`],
    ["Rdns", `jitsi-dev-bridge-${index}-rdns-ipv6`],
  ].sort((a, b) => a.join().localeCompare(b.join()));

/** Inputs with user-data as the files it writes, unpacked: a compressed file hides the ids inside it. */
function readable(inputs: Record<string, unknown>): Record<string, unknown> {
  if (typeof inputs.userData !== "string") return inputs;
  return {
    ...inputs,
    userData: {
      document: inputs.userData.replace(/write_files:[\s\S]*?\nruncmd:/, "runcmd:"),
      files: writtenFiles(inputs.userData),
    },
  };
}

/**
 * Each resource's inputs with the mock engine's ids, and the IPv4 addresses it derives from them (see
 * fakeOutputs in scripts/lib/offlineEngine.ts), replaced by the name of the resource they belong to: two
 * runs with a different number of resources number them differently, though nothing changed.
 */
function normalisedInputs(run: { resources: PlannedResource[] }): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of run.resources) {
    names.set(r.id, `<id of ${r.name}>`);
    if (r.type === "hcloud:index/primaryIp:PrimaryIp" && r.inputs.type === "ipv4") {
      names.set(`203.0.113.${10 + ((Number(r.id) - 100000) % 200)}`, `<address of ${r.name}>`);
    }
  }
  const pattern = new RegExp(
    [...names.keys()].map((k) => `(?<![0-9.])${k.replace(/\./g, "\\.")}(?![0-9])`).join("|"),
    "g",
  );
  return new Map(
    run.resources.map((r) => [
      key(r),
      JSON.stringify(readable(revealSecrets(r.inputs) as Record<string, unknown>)).replace(pattern, (match) =>
        names.get(match)!,
      ),
    ]),
  );
}

/**
 * The order Pulumi deletes removed resources in: a resource goes only once nothing that depends on it
 * is left. Ties are broken by name, so the order is one the engine may take.
 */
function deletionOrder(removed: PlannedResource[]): string[] {
  const names = new Set(removed.map((r) => r.name));
  const left = new Map(removed.map((r) => [r.name, r]));
  const order: string[] = [];
  while (left.size > 0) {
    const free = [...left.values()]
      .filter((r) => ![...left.values()].some((other) => other.dependsOn.includes(r.name)))
      .map((r) => r.name)
      .sort();
    if (free.length === 0) throw new Error("dependency cycle");
    for (const name of free) {
      order.push(name);
      left.delete(name);
    }
  }
  expect(order.every((n) => names.has(n))).toBe(true);
  return order;
}

describe("extra videobridges in the plan (mock engine)", async () => {
  const runs = {
    0: await runProgram(exampleConfig({ bridges: "0" })),
    1: await runProgram(exampleConfig({ bridges: "1" })),
    3: await runProgram(exampleConfig({ bridges: "3", bridgeLocations: '["fsn1","hel1"]', octo: "true" })),
  };

  it.each([0, 1, 3] as const)("with %i bridges holds exactly that many bridge VMs, each complete", (n) => {
    const run = runs[n];
    const bridges = run.resources.filter((r) => r.name.startsWith("jitsi-dev-bridge-"));
    const shape = bridges
      .map((r) => [short(r.type), r.name])
      .sort((a, b) => a.join().localeCompare(b.join()));
    expect(shape).toEqual(
      Array.from({ length: n }, (_, i) => bridgeShape(i + 1))
        .flat()
        .sort((a, b) => a.join().localeCompare(b.join())),
    );
    expect(ofType(run, "hcloud:index/network:Network")).toHaveLength(n > 0 ? 1 : 0);
    expect(ofType(run, "hcloud:index/networkSubnet:NetworkSubnet")).toHaveLength(n > 0 ? 1 : 0);
    // Servers: the meeting VM, the TURN relay and the bridges; attachments: the meeting VM and each bridge.
    expect(
      ofType(run, SERVER)
        .map((s) => s.name)
        .sort(),
    ).toEqual(
      [
        "jitsi-dev-server",
        "jitsi-dev-turn-server",
        ...Array.from({ length: n }, (_, i) => `jitsi-dev-bridge-${i + 1}-server`),
      ].sort(),
    );
    const attached = ofType(run, SERVER)
      .filter((s) => s.inputs.networks)
      .map((s) => [s.name, (s.inputs.networks as Array<{ ip: string }>)[0]!.ip]);
    expect(attached.sort()).toEqual(
      n === 0
        ? []
        : [
            ["jitsi-dev-server", "10.0.0.2"],
            ...Array.from({ length: n }, (_, i) => [`jitsi-dev-bridge-${i + 1}-server`, `10.0.1.${i + 1}`]),
          ].sort(),
    );
  });

  it("places each bridge as configured, with its own primary IPs, rDNS and DNS name", () => {
    const run = runs[3];
    const server = (i: number) => ofType(run, SERVER).find((s) => s.name === `jitsi-dev-bridge-${i}-server`)!;
    expect([1, 2, 3].map((i) => server(i).inputs.location)).toEqual(["fsn1", "hel1", "fsn1"]);
    for (const i of [1, 2, 3]) {
      expect(server(i).inputs).toMatchObject({ serverType: "cx33", image: "ubuntu-24.04" });
      expect(server(i).inputs.labels).toMatchObject({
        role: "bridge",
        "bridge-index": String(i),
        "jitsi-release": "stable-11146-2",
        "jitsi-commit": "738058b44bc3029ea289bea180cd3838f702af8e",
      });
      const rdns = bridgeResources(run.resources, i).filter((r) => r.type === "hcloud:index/rdns:Rdns");
      expect(rdns.map((r) => r.inputs.dnsPtr)).toEqual([
        `bridge-${i}.meet-dev.example.com`,
        `bridge-${i}.meet-dev.example.com`,
      ]);
    }
  });

  it("gives each bridge a firewall of UDP 10000 from anywhere and SSH from the admin CIDRs only", () => {
    const firewalls = ofType(runs[3], "hcloud:index/firewall:Firewall").filter((f) =>
      f.name.includes("bridge"),
    );
    expect(firewalls).toHaveLength(3);
    for (const firewall of firewalls) {
      expect(firewall.inputs.rules).toEqual(bridgeFirewallRules(["203.0.113.7/32", "2001:db8:1234::/48"]));
      expect(firewall.inputs.rules).toEqual([
        expect.objectContaining({ protocol: "udp", port: "10000", sourceIps: ["0.0.0.0/0", "::/0"] }),
        expect.objectContaining({
          protocol: "tcp",
          port: "22",
          sourceIps: ["203.0.113.7/32", "2001:db8:1234::/48"],
        }),
      ]);
    }
  });

  it("each bridge's user-data passes cloud-init schema and runs jvb alone, after its private address is up", async () => {
    for (const i of [1, 2, 3]) {
      const server = ofType(runs[3], SERVER).find((s) => s.name === `jitsi-dev-bridge-${i}-server`)!;
      const userData = String(revealSecrets(server.inputs.userData));
      expect(await cloudInitSchema(userData), `bridge ${i}`).toMatchObject({ ok: true });
      const unit = writtenFiles(userData).find(
        (f) => f.path === "/etc/systemd/system/jitsi-meet.service",
      )!.content;
      expect(unit).toMatch(
        /^ExecStart=\/usr\/bin\/docker compose -f docker-compose.yml up -d --remove-orphans --no-deps jvb$/m,
      );
      expect(unit).toContain(`ExecStartPre=/usr/local/sbin/jitsi-stack-wait-address 10.0.1.${i} 120`);
      // The same release check as the meeting VM's, creating only jvb's CONFIG directory, with no volume to mount.
      expect(unit).toMatch(
        /^ExecStartPre=\/usr\/local\/sbin\/jitsi-stack-install https:\/\/github.com\/jitsi\/docker-jitsi-meet.git stable-11146-2 738058b44bc3029ea289bea180cd3838f702af8e \/opt\/jitsi \/opt\/jitsi\/state\/config 1000 jvb$/m,
      );
      expect(unit).not.toContain("mount-state");
      expect(unit).not.toContain("MANAGED_CONFIG_DIR");
      const paths = writtenFiles(userData).map((f) => f.path);
      expect(paths).not.toContain("/etc/systemd/system/jitsi-stack-renew-cert.timer");
    }
  });

  it("leaves bridges, their IPs and the network removable under jitsi:deleteProtection, the meeting VM protected", async () => {
    const run = await runProgram(exampleConfig({ bridges: "1", deleteProtection: "true" }));
    const protection = (name: string) => run.resources.find((r) => r.name === name)!.inputs.deleteProtection;
    expect(protection("jitsi-dev-server")).toBe(true);
    expect(protection("jitsi-dev-ipv4")).toBe(true);
    expect(protection("jitsi-dev-turn-server")).toBe(true);
    for (const name of ["jitsi-dev-bridge-1-server", "jitsi-dev-bridge-1-ipv4", "jitsi-dev-bridge-1-ipv6"]) {
      expect(protection(name), name).toBe(false);
    }
    expect(protection("jitsi-dev-network")).toBeUndefined();
  });

  it("exports the bridges as verify reads them: nickname, address and pinned host key", () => {
    const outputs = StackOutputsSchema.parse(revealSecrets(runs[3].outputs));
    expect(outputs.bridgeHosts?.map((b) => [b.nickname, b.privateIp])).toEqual([
      ["bridge-1", "10.0.1.1"],
      ["bridge-2", "10.0.1.2"],
      ["bridge-3", "10.0.1.3"],
    ]);
    expect(outputs.meetingBridge).toBe(true);
    expect(StackOutputsSchema.parse(revealSecrets(runs[0].outputs)).bridgeHosts).toBeUndefined();
  });

  it("gives the bridges the meeting VM's JVB password from state, and nothing else secret", () => {
    const meeting = ofType(runs[3], SERVER).find((s) => s.name === "jitsi-dev-server")!;
    const meetingEnv = writtenFiles(String(revealSecrets(meeting.inputs.userData))).find(
      (f) => f.path === "/opt/jitsi/.env",
    )!.content;
    const password = /^JVB_AUTH_PASSWORD=(.+)$/m.exec(meetingEnv)![1];
    for (const i of [1, 2, 3]) {
      const server = ofType(runs[3], SERVER).find((s) => s.name === `jitsi-dev-bridge-${i}-server`)!;
      const env = writtenFiles(String(revealSecrets(server.inputs.userData))).find(
        (f) => f.path === "/opt/jitsi/.env",
      )!.content;
      expect(env).toContain(`JVB_AUTH_PASSWORD=${password}`);
      expect(env).not.toMatch(/JICOFO_AUTH_PASSWORD|JWT_APP_SECRET|JIBRI|JIGASI|TURN_CREDENTIALS/);
    }
  });

  it("scaling 3 -> 1 removes bridges 2 and 3, each drained before its server goes, and leaves the rest untouched", async () => {
    const three = await runProgram(exampleConfig({ bridges: "3" }));
    const one = await runProgram(exampleConfig({ bridges: "1" }));
    const kept = new Map(one.resources.map((r) => [key(r), r]));
    const removed = three.resources.filter((r) => !kept.has(key(r)));
    expect(removed.map((r) => r.name).sort()).toEqual(
      [...bridgeShape(2), ...bridgeShape(3)].map(([, name]) => name!).sort(),
    );
    // Everything that stays, the meeting VM and bridge 1 included, is declared exactly as before.
    const before = normalisedInputs(three);
    const after = normalisedInputs(one);
    for (const [name, inputs] of after) expect(inputs, name).toBe(before.get(name));
    const order = deletionOrder(removed);
    for (const i of [2, 3]) {
      const at = (suffix: string) => order.indexOf(`jitsi-dev-bridge-${i}-${suffix}`);
      expect(at("drain")).toBeLessThan(at("server"));
      for (const after of ["ipv4", "ipv6", "firewall", "ssh", "a", "aaaa"])
        expect(at("server")).toBeLessThan(at(after));
      expect(at("rdns-ipv4")).toBeLessThan(at("ipv4"));
    }
    // The drain step knows, from state alone, where the bridge is and which host key to trust.
    const drain = removed.find((r) => r.name === "jitsi-dev-bridge-3-drain")!;
    expect(drain.inputs.delete).toBe(
      "node --require ts-node/register/transpile-only infra/gate/drainBridge.ts",
    );
    expect(drain.inputs.environment).toMatchObject({
      DRAIN_BRIDGE: "bridge-3",
      DRAIN_HOST: expect.stringMatching(/^203\.0\.113\.\d+$/),
      DRAIN_HOST_KEY: expect.stringMatching(/^ssh-ed25519 /),
      DRAIN_USER: "root",
      DRAIN_MINUTES: "60",
    });
  });
});
