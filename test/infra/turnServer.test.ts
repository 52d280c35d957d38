import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { turnFirewallRules } from "../../infra/render/turnFirewall";
import { isSecretValue, redactSecrets, revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { turnFirewallNotExact, unpinnedCoturn } from "../../policy/turn";
import { sshOpenToInternet } from "../../policy/firewall";
import { settingsWith } from "../helpers/settings";
import { exampleConfig, ofType, runProgram } from "../helpers/program";

const SERVER = "hcloud:index/server:Server";
const FIREWALL = "hcloud:index/firewall:Firewall";
const PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp";
const DNS = "cloudflare:index/dnsRecord:DnsRecord";
const RDNS = "hcloud:index/rdns:Rdns";
const SSH_KEY = "hcloud:index/sshKey:SshKey";

const turnOnly = <T extends { name: string }>(resources: T[]) =>
  resources.filter((r) => r.name.startsWith("jitsi-dev-turn-"));
type WriteFiles = { write_files: Array<{ path: string; content: string }> };
const fileIn = (userData: unknown, filePath: string) =>
  (parse(String(revealSecrets(userData))) as WriteFiles).write_files.find((f) => f.path === filePath)
    ?.content ?? "";

describe("the TURN relay in the plan (example stack, mock engine)", async () => {
  const run = await runProgram(exampleConfig());
  const server = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-turn-server")!;
  const meeting = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-server")!;
  const turn = settingsWith({ domain: "meet-dev.example.com" }).turn;

  it("is a small VM of its own, with a pinned coturn, in the stack's location", () => {
    expect(server.inputs).toMatchObject({
      serverType: "cx23",
      image: "ubuntu-24.04",
      location: "nbg1",
      backups: false,
      deleteProtection: false,
    });
    expect(server.inputs.labels).toMatchObject({ role: "turn", "coturn-version": "4.6.1", stack: "dev" });
    expect(unpinnedCoturn(server.inputs as { labels: Record<string, string> })).toEqual([]);
  });

  it("has primary IPv4 and IPv6 of its own that outlive the server", () => {
    const ips = turnOnly(ofType(run, PRIMARY_IP));
    expect(ips.map((ip) => [ip.name, ip.inputs.type, ip.inputs.autoDelete])).toEqual([
      ["jitsi-dev-turn-ipv4", "ipv4", false],
      ["jitsi-dev-turn-ipv6", "ipv6", false],
    ]);
    expect(server.inputs.publicNets).toEqual([
      { ipv4Enabled: true, ipv4: Number(ips[0]!.id), ipv6Enabled: true, ipv6: Number(ips[1]!.id) },
    ]);
    expect(run.outputs.turnIpv4).toMatch(/^203\.0\.113\.\d+$/);
    expect(run.outputs.turnIpv4).not.toBe(run.outputs.ipv4);
  });

  it("answers at turn.<domain>: DNS-only A and AAAA records, created before the server, and reverse DNS", () => {
    const records = turnOnly(ofType(run, DNS));
    expect(records.map((r) => r.inputs)).toEqual([
      expect.objectContaining({
        type: "A",
        name: turn.hostname,
        content: run.outputs.turnIpv4,
        proxied: false,
      }),
      expect.objectContaining({
        type: "AAAA",
        name: turn.hostname,
        content: run.outputs.turnIpv6,
        proxied: false,
      }),
    ]);
    expect(server.dependsOn).toEqual(expect.arrayContaining(records.map((r) => r.name)));
    expect(turnOnly(ofType(run, RDNS)).map((r) => [r.inputs.ipAddress, r.inputs.dnsPtr])).toEqual([
      [run.outputs.turnIpv4, "turn.meet-dev.example.com"],
      [run.outputs.turnIpv6, "turn.meet-dev.example.com"],
    ]);
    expect(run.outputs.turnHostname).toBe("turn.meet-dev.example.com");
  });

  it("has an exact firewall of its own: TURN ports, the relay range, 80/tcp, and SSH from the admin CIDRs", () => {
    const firewall = turnOnly(ofType(run, FIREWALL))[0]!;
    const rules = firewall.inputs.rules as ReturnType<typeof turnFirewallRules>;
    expect(rules).toEqual(turnFirewallRules(turn, ["203.0.113.7/32", "2001:db8:1234::/48"]));
    expect(rules.map((r) => `${r.port}/${r.protocol}`)).toEqual([
      "80/tcp",
      "443/tcp",
      "3478/tcp",
      "3478/udp",
      "49152-65535/udp",
      "22/tcp",
    ]);
    expect(turnFirewallNotExact(rules, firewall.inputs.labels as Record<string, string>)).toEqual([]);
    expect(sshOpenToInternet(rules)).toEqual([]);
    expect(server.inputs.firewallIds).toEqual([Number(firewall.id)]);
  });

  it("gets its own Hetzner key and the operators' keys by cloud-init, and presents a pinned host key", () => {
    expect(turnOnly(ofType(run, SSH_KEY))).toHaveLength(1);
    const userData = parse(String(revealSecrets(server.inputs.userData))) as Record<string, unknown>;
    expect(userData).toMatchObject({ disable_root: false, ssh_authorized_keys: expect.any(Array) });
    expect(run.outputs.turnSshHostPublicKey).toMatch(/^ssh-ed25519 /);
    expect(String(revealSecrets(server.inputs.userData))).toContain(String(run.outputs.turnSshHostPublicKey));
  });

  it("shares one generated secret with Prosody, kept in state and secret everywhere", () => {
    expect(isSecretValue(server.inputs.userData)).toBe(true);
    const coturnSecret = /^static-auth-secret=(\S+)$/m.exec(
      fileIn(server.inputs.userData, "/etc/jitsi-stack/coturn.conf"),
    )?.[1];
    const prosodySecret = /^TURN_CREDENTIALS=(\S+)$/m.exec(
      fileIn(meeting.inputs.userData, "/opt/jitsi/.env"),
    )?.[1];
    expect(coturnSecret).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(prosodySecret).toBe(coturnSecret);
    expect(ofType(run, "random:index/randomPassword:RandomPassword").map((r) => r.name)).toContain(
      "jitsi-dev-turn-secret",
    );
    expect(run.secretValues).toContain(coturnSecret);
    const visible = JSON.stringify([
      run.resources.map((r) => redactSecrets(r.inputs)),
      redactSecrets(run.outputs),
    ]);
    expect(visible).not.toContain(coturnSecret);
  });

  it("tells Prosody where it is: the meeting VM's .env names the relay and its ports", () => {
    const env = fileIn(meeting.inputs.userData, "/opt/jitsi/.env");
    expect(env).toMatch(/^TURN_HOST=turn\.meet-dev\.example\.com$/m);
    expect(env).toMatch(/^TURNS_HOST=turn\.meet-dev\.example\.com$/m);
    expect(env).toMatch(/^TURNS_PORT=443$/m);
    expect(env).toMatch(/^TURN_PORT=3478$/m);
  });
});

describe("the TURN relay with other settings", () => {
  it("TURN off removes the VM, its IPs, firewall, records, key and secret, and Prosody's TURN variables", async () => {
    const run = await runProgram(exampleConfig({ turnEnabled: "false" }));
    expect(run.resources.filter((r) => r.name.includes("-turn"))).toEqual([]);
    expect(ofType(run, SERVER)).toHaveLength(1);
    expect(Object.keys(run.outputs).filter((key) => key.startsWith("turn"))).toEqual([]);
    const env = fileIn(ofType(run, SERVER)[0]!.inputs.userData, "/opt/jitsi/.env");
    expect(env).not.toMatch(/^TURNS?_/m);
  });

  it("a configured secret is used as given, generates nothing and stays secret", async () => {
    const secret = "c3".repeat(20);
    const run = await runProgram(exampleConfig({ turnSecret: secret }, ["turnSecret"]));
    const server = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-turn-server")!;
    expect(fileIn(server.inputs.userData, "/etc/jitsi-stack/coturn.conf")).toContain(
      `static-auth-secret=${secret}\n`,
    );
    expect(ofType(run, "random:index/randomPassword:RandomPassword").map((r) => r.name)).not.toContain(
      "jitsi-dev-turn-secret",
    );
    expect(JSON.stringify(run.resources.map((r) => redactSecrets(r.inputs)))).not.toContain(secret);
  });

  it("refuses a TURN secret that the stack file holds in plain text", async () => {
    await expect(runProgram(exampleConfig({ turnSecret: "c3".repeat(20) }))).rejects.toThrow(
      /jitsi:turnSecret is stored in plain text in Pulumi\.dev\.yaml; store it encrypted/,
    );
  });

  it("follows its settings: hostname, server type, location, ports and protection", async () => {
    const run = await runProgram(
      exampleConfig({
        turnHostname: "relay.example.com",
        turnServerType: "cax11",
        turnLocation: "hel1",
        turnTlsPort: "5349",
        turnRelayPorts: "40000-44999",
        deleteProtection: "true",
      }),
    );
    const server = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-turn-server")!;
    expect(server.inputs).toMatchObject({
      serverType: "cax11",
      location: "hel1",
      deleteProtection: true,
      rebuildProtection: true,
    });
    expect(
      turnOnly(ofType(run, PRIMARY_IP)).map((ip) => [ip.inputs.location, ip.inputs.deleteProtection]),
    ).toEqual([
      ["hel1", true],
      ["hel1", true],
    ]);
    expect(turnOnly(ofType(run, DNS)).map((r) => r.inputs.name)).toEqual([
      "relay.example.com",
      "relay.example.com",
    ]);
    const ports = (turnOnly(ofType(run, FIREWALL))[0]!.inputs.rules as Array<{ port: string }>).map(
      (r) => r.port,
    );
    expect(ports).toEqual(expect.arrayContaining(["5349", "40000-44999"]));
  });

  it("stops before declaring anything when the TURN hostname is the meeting's", async () => {
    await expect(runProgram(exampleConfig({ turnHostname: "meet-dev.example.com" }))).rejects.toThrow(
      /- jitsi:turnHostname must differ from jitsi:domain/,
    );
  });
});
