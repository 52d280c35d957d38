import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it, vi } from "vitest";
import { revealSecrets, runOffline } from "../../scripts/lib/render/offlineEngine";
import { composeConfig, publishedPorts } from "../helpers/compose";
import { exampleConfig, ofType, runProgram } from "../helpers/program";
import { settingsWith } from "../helpers/settings";
import { cloudInitSchema, writtenFiles } from "../helpers/userData";

const SERVER = "hcloud:index/server:Server";
const NETWORK = "hcloud:index/network:Network";
const SUBNET = "hcloud:index/networkSubnet:NetworkSubnet";
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const meetingServer = (run: Awaited<ReturnType<typeof runProgram>>) =>
  ofType(run, SERVER).find((s) => s.name === "jitsi-dev-server")!;

describe("the private network (mock engine)", async () => {
  const single = await runProgram(exampleConfig());
  const withBridges = await runProgram(exampleConfig({ bridges: "1" }));

  it("is not created for a single-VM stack, and no server joins one", () => {
    expect(ofType(single, NETWORK)).toEqual([]);
    expect(ofType(single, SUBNET)).toEqual([]);
    for (const server of ofType(single, SERVER)) expect(server.inputs.networks, server.name).toBeUndefined();
  });

  it("with bridges: one network of 10.0.0.0/16 and one cloud subnet in the meeting VM's network zone", () => {
    const [network] = ofType(withBridges, NETWORK);
    const [subnet] = ofType(withBridges, SUBNET);
    expect(ofType(withBridges, NETWORK)).toHaveLength(1);
    expect(ofType(withBridges, SUBNET)).toHaveLength(1);
    expect(network!.inputs).toMatchObject({
      ipRange: "10.0.0.0/16",
      labels: { app: "jitsi-stack", stack: "dev" },
    });
    expect(subnet!.inputs).toEqual({
      networkId: Number(network!.id),
      type: "cloud",
      networkZone: "eu-central",
      ipRange: "10.0.0.0/20",
    });
  });

  it("the meeting VM joins at 10.0.0.2 from its creation, after the subnet exists", () => {
    const server = meetingServer(withBridges);
    const [subnet] = ofType(withBridges, SUBNET);
    expect(server.inputs.networks).toEqual([{ subnetId: subnet!.id, ip: "10.0.0.2", aliasIps: [] }]);
    expect(server.dependsOn).toContain(subnet!.name);
  });

  it("renames nothing of the single-VM stack: every resource keeps its name and type", () => {
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const after = new Set(withBridges.resources.map(key));
    for (const r of single.resources) expect(after.has(key(r)), key(r)).toBe(true);
  });

  it("the meeting VM's compose publishes XMPP on 10.0.0.2 only, and waits for that address before starting", async () => {
    const userData = String(revealSecrets(meetingServer(withBridges).inputs.userData));
    expect(await cloudInitSchema(userData)).toMatchObject({ ok: true });
    const files = writtenFiles(userData);
    const unit = files.find((f) => f.path === "/etc/systemd/system/jitsi-meet.service")!.content;
    const execStart = /^ExecStart=\/usr\/bin\/docker compose (.*) up -d --remove-orphans$/m.exec(unit)![1]!;
    const composeFiles = [...execStart.matchAll(/-f (\S+)/g)].map((m) => m[1]!);
    expect(composeFiles).toEqual(["docker-compose.yml", "docker-compose.private-xmpp.yml"]);
    // The unit's compose files, as the VM has them, through docker-compose: the release's file from the reference copy.
    const dir = mkdtempSync(path.join(tmpdir(), "meeting-compose-"));
    dirs.push(dir);
    const overrides = composeFiles.slice(1).map((name) => {
      writeFileSync(path.join(dir, name), files.find((f) => f.path === `/opt/jitsi/${name}`)!.content);
      return path.join(dir, name);
    });
    const env = files.find((f) => f.path === "/opt/jitsi/.env")!.content;
    const merged = composeConfig(dir, overrides, env);
    expect(merged.status, merged.stderr).toBe(0);
    const xmpp = Object.entries(merged.services!).flatMap(([name, service]) =>
      publishedPorts(service)
        .filter((p) => p.target === "5222" || p.published === "5222")
        .map((p) => ({ name, ...p })),
    );
    expect(xmpp).toEqual([
      { name: "prosody", hostIp: "10.0.0.2", published: "5222", target: "5222", protocol: "tcp" },
    ]);
    // The wait comes before compose starts, and its script is on the VM.
    const lines = unit.split("\n");
    const wait = lines.findIndex(
      (l) => l === "ExecStartPre=/usr/local/sbin/jitsi-stack-wait-address 10.0.0.2 120",
    );
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThan(lines.findIndex((l) => l.startsWith("ExecStart=")));
    expect(files.find((f) => f.path === "/usr/local/sbin/jitsi-stack-wait-address")?.content).toMatch(
      /^#!\/bin\/sh/,
    );
  });

  it("a satellite VM joins at the address it is given, from its creation", async () => {
    const settings = settingsWith({ bridges: "1" });
    const run = await runOffline({
      project: "jitsi-stack",
      stack: "test",
      stackConfig: { config: {}, secretKeys: [], placeholders: [] },
      load: async () => {
        vi.resetModules();
        const { PrivateNetwork } = await import("../../infra/privateNetwork.js");
        const { Satellite } = await import("../../infra/satellite.js");
        const network = new PrivateNetwork("net", { settings });
        new Satellite("sat", {
          settings,
          role: {
            role: "bridge",
            serverType: "cx23",
            location: "hel1",
            image: "ubuntu-24.04",
            hostname: "sat.example.com",
            publishDns: false,
            firewallRules: [],
            privateNetwork: { network, ip: "10.0.1.7" },
            userData: () => pulumi.output("#cloud-config\n"),
          },
        });
        return {};
      },
    });
    const server = ofType(run, SERVER)[0]!;
    const subnet = ofType(run, SUBNET)[0]!;
    expect(server.inputs.networks).toEqual([{ subnetId: subnet.id, ip: "10.0.1.7", aliasIps: [] }]);
    expect(server.dependsOn).toContain(subnet.name);
  });
});
