import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isSecretValue, redactSecrets, revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { type FirewallRule, firewallRules } from "../../infra/render/firewall";
import { meetingPortsClosed, sshOpenToInternet } from "../../policy/firewall";
import { exampleConfig, ofType, runProgram } from "../helpers/program";
import { cloudInitSchema, writtenFiles } from "../helpers/userData";

const SERVER = "hcloud:index/server:Server";
const FIREWALL = "hcloud:index/firewall:Firewall";
const PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp";
const DNS = "cloudflare:index/dnsRecord:DnsRecord";
const RDNS = "hcloud:index/rdns:Rdns";

/** The meeting VM's resources: the TURN relay's (test/infra/turnServer.test.ts) are named <stack>-turn-*. */
const meetingOnly = <T extends { name: string }>(resources: T[]) =>
  resources.filter((r) => !/^jitsi-[a-z]+-turn-/.test(r.name));

describe("the Pulumi program (example stack, mock engine)", async () => {
  const run = await runProgram(exampleConfig());
  const server = meetingOnly(ofType(run, SERVER))[0]!;
  const [ipv4, ipv6] = meetingOnly(ofType(run, PRIMARY_IP));

  it("declares one meeting server with the firewall and both primary IPs attached", () => {
    expect(meetingOnly(ofType(run, SERVER))).toHaveLength(1);
    expect(server.inputs).toMatchObject({ serverType: "cx33", image: "ubuntu-24.04", location: "nbg1" });
    expect((server.inputs.firewallIds as number[]).length).toBe(1);
    const nets = server.inputs.publicNets as Array<Record<string, unknown>>;
    expect(nets).toEqual([
      { ipv4Enabled: true, ipv4: expect.any(Number), ipv6Enabled: true, ipv6: expect.any(Number) },
    ]);
  });

  it("keeps the primary IPs when the server is replaced", () => {
    expect(ipv4!.inputs).toMatchObject({ type: "ipv4", autoDelete: false, assigneeType: "server" });
    expect(ipv6!.inputs).toMatchObject({ type: "ipv6", autoDelete: false, assigneeType: "server" });
  });

  it("DNS records are not proxied and point at the primary IPs", () => {
    const records = meetingOnly(ofType(run, DNS)).map((r) => r.inputs);
    expect(records).toEqual([
      expect.objectContaining({
        type: "A",
        name: "meet-dev.example.com",
        content: run.outputs.ipv4,
        proxied: false,
        ttl: 60,
      }),
      expect.objectContaining({
        type: "AAAA",
        name: "meet-dev.example.com",
        content: run.outputs.ipv6,
        proxied: false,
        ttl: 60,
      }),
    ]);
    expect(run.outputs.ipv4).toMatch(/^203\.0\.113\.\d+$/);
    expect(run.outputs.ipv6).toBe("2001:db8:4a1:7e00::1");
  });

  it("sets reverse DNS for both addresses to the meeting hostname", () => {
    expect(meetingOnly(ofType(run, RDNS)).map((r) => [r.inputs.ipAddress, r.inputs.dnsPtr])).toEqual([
      [run.outputs.ipv4, "meet-dev.example.com"],
      [run.outputs.ipv6, "meet-dev.example.com"],
    ]);
  });

  it("creates the DNS records before the server boots, so the first ACME validation finds the name", () => {
    const records = meetingOnly(ofType(run, DNS)).map((r) => r.name);
    expect(records).toEqual(["jitsi-dev-a", "jitsi-dev-aaaa"]);
    expect(server.dependsOn).toEqual(expect.arrayContaining(records));
  });

  it("installs the operators' SSH keys through cloud-init, not as Hetzner project keys another stack may hold", () => {
    const operatorKeys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLEKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxx ops@example",
    ];
    const hetznerKeys = meetingOnly(ofType(run, "hcloud:index/sshKey:SshKey")).map((k) => k.inputs.publicKey);
    expect(hetznerKeys).toHaveLength(1);
    expect(hetznerKeys.filter((key) => operatorKeys.includes(String(key)))).toEqual([]);
    const userData = parse(String(revealSecrets(server.inputs.userData))) as Record<string, unknown>;
    expect(userData).toMatchObject({ disable_root: false, ssh_authorized_keys: operatorKeys });
  });

  it("two stacks with the same operator key register different keys with Hetzner", async () => {
    const other = await runProgram(exampleConfig({ domain: "meet-staging.example.com" }), "staging");
    const keyOf = (r: typeof run) => ofType(r, "hcloud:index/sshKey:SshKey")[0]!.inputs.publicKey;
    expect(keyOf(other)).not.toBe(keyOf(run));
  });

  it("keeps the stack's state on a volume the VM mounts by its id, protected like the server", async () => {
    const [volume] = ofType(run, "hcloud:index/volume:Volume");
    expect(volume!.inputs).toMatchObject({
      size: 10,
      format: "ext4",
      location: "nbg1",
      deleteProtection: false,
    });
    expect(run.outputs.stateVolumeId).toBe(volume!.id);
    const userData = String(revealSecrets(server.inputs.userData));
    const unit = writtenFiles(userData).find((f) => f.path === "/etc/systemd/system/jitsi-meet.service")!;
    expect(unit.content).toContain(`/dev/disk/by-id/scsi-0HC_Volume_${volume!.id} /opt/jitsi/state`);
    const prod = await runProgram(exampleConfig({ deleteProtection: "true", stateVolumeGb: "25" }));
    expect(ofType(prod, "hcloud:index/volume:Volume")[0]!.inputs).toMatchObject({
      size: 25,
      deleteProtection: true,
    });
  });

  it("the bridge advertises the same addresses DNS points at", () => {
    const userData = String(revealSecrets(server.inputs.userData));
    expect(userData).toContain(`JVB_ADVERTISE_IPS=${run.outputs.ipv4},${run.outputs.ipv6}`);
  });

  it("the firewall is exactly the planned rule set: meeting ports for IPv4 and IPv6, SSH from the admin CIDRs", () => {
    const rules = meetingOnly(ofType(run, FIREWALL))[0]!.inputs.rules as FirewallRule[];
    expect(rules).toEqual(firewallRules(["203.0.113.7/32", "2001:db8:1234::/48"]));
    expect(meetingPortsClosed(rules)).toEqual([]);
    expect(sshOpenToInternet(rules)).toEqual([]);
    expect(run.outputs.sshCommand).toBe(`ssh root@${run.outputs.ipv4}`);
  });

  it("labels the server with its environment and pinned release", () => {
    expect(server.inputs.labels).toEqual({
      app: "jitsi-stack",
      stack: "dev",
      environment: "dev",
      "jitsi-release": "stable-11146-2",
      "jitsi-commit": "738058b44bc3029ea289bea180cd3838f702af8e",
    });
  });

  it("user-data, the JWT secret and the API keys are Pulumi secrets", () => {
    expect(isSecretValue(server.inputs.userData)).toBe(true);
    expect(isSecretValue(run.outputs.jwtAppSecret)).toBe(true);
    expect(isSecretValue(run.outputs.issuerApiKeys)).toBe(true);
  });

  it("no secret value appears in a non-secret input or output", () => {
    expect(run.secretValues.length).toBeGreaterThanOrEqual(8);
    const visible = JSON.stringify([
      run.resources.map((r) => redactSecrets(r.inputs)),
      redactSecrets(run.outputs),
    ]);
    for (const secret of run.secretValues) expect(visible).not.toContain(secret);
    const userData = String(revealSecrets(server.inputs.userData));
    const jwtSecret = String(revealSecrets(run.outputs.jwtAppSecret));
    expect(userData).toContain(`JWT_APP_SECRET=${jwtSecret}`);
  });

  it("exports what the operator scripts read", () => {
    expect(Object.keys(run.outputs).sort()).toEqual(
      [
        "deleteProtection",
        "domain",
        "environment",
        "guestsEnabled",
        "ipv4",
        "ipv6",
        "issuerApiKeys",
        "issuerUrl",
        "jitsiCommit",
        "jitsiDir",
        "jitsiRelease",
        "jwtAppId",
        "jwtAppSecret",
        "lobbyEnabled",
        "meetingUrl",
        "prejoinEnabled",
        "serverId",
        "sshCommand",
        "sshHost",
        "sshHostPublicKey",
        "sshUser",
        "stateVolumeId",
        "turnHostname",
        "turnIpv4",
        "turnIpv6",
        "turnServerId",
        "turnSshHostPublicKey",
      ].sort(),
    );
    expect(run.outputs).toMatchObject({
      meetingUrl: "https://meet-dev.example.com/",
      jwtAppId: "jitsi-stack-dev",
      jitsiDir: "/opt/jitsi",
    });
  });

  it("waits for HTTPS with a valid certificate before `pulumi up` ends", () => {
    const gate = ofType(run, "command:local:Command")[0]!;
    expect(gate.inputs.create).toBe(
      "node --require ts-node/register/transpile-only infra/gate/waitForHttps.ts",
    );
    expect(gate.inputs.environment).toEqual({
      GATE_URL: "https://meet-dev.example.com/",
      GATE_TIMEOUT_SECONDS: "900",
      GATE_STAGING: "false",
    });
    expect(gate.inputs.triggers).toEqual([run.outputs.serverId]);
    // A failed gate is saved with its error and updated on the next `pulumi up`; with no update
    // command of its own, that update runs the same wait again.
    expect(gate.inputs).not.toHaveProperty("update");
    // It waits for the server, which waits for the DNS records (tested above).
    expect(gate.dependsOn).toContain("jitsi-dev-server");
  });
});

describe("the Pulumi program with other settings", () => {
  it("SSH is closed when no admin CIDR is set: no rule and no SSH command", async () => {
    const run = await runProgram(exampleConfig({ adminCidrs: undefined }));
    const rules = meetingOnly(ofType(run, FIREWALL))[0]!.inputs.rules as FirewallRule[];
    expect(rules).toEqual(firewallRules([]));
    expect(rules.map((r) => r.port)).toEqual(["80", "443", "10000"]);
    expect(run.outputs).not.toHaveProperty("sshCommand");
  });

  it("a configured JWT secret is used as given and stays secret", async () => {
    const secret = "a1".repeat(24);
    const run = await runProgram(exampleConfig({ jwtAppSecret: secret }, ["jwtAppSecret"]));
    expect(revealSecrets(run.outputs.jwtAppSecret)).toBe(secret);
    expect(ofType(run, "random:index/randomPassword:RandomPassword").map((r) => r.name)).not.toContain(
      "jitsi-dev-jwt-app-secret",
    );
    const visible = JSON.stringify(run.resources.map((r) => redactSecrets(r.inputs)));
    expect(visible).not.toContain(secret);
  });

  it("protection and backups follow the settings", async () => {
    const run = await runProgram(exampleConfig({ deleteProtection: "true", environment: "production" }));
    const server = meetingOnly(ofType(run, SERVER))[0]!;
    expect(server.inputs).toMatchObject({ deleteProtection: true, rebuildProtection: true, backups: true });
    expect(ofType(run, PRIMARY_IP).every((ip) => ip.inputs.deleteProtection === true)).toBe(true);
  });

  it("refuses a JWT secret that the stack file holds in plain text", async () => {
    await expect(runProgram(exampleConfig({ jwtAppSecret: "a1".repeat(24) }))).rejects.toThrow(
      /jitsi:jwtAppSecret is stored in plain text in Pulumi\.dev\.yaml; store it encrypted/,
    );
  });

  it("stops before declaring any resource when settings are invalid, listing every problem", async () => {
    await expect(runProgram(exampleConfig({ domain: "https://meet", location: "mars1" }))).rejects.toThrow(
      /invalid setting\(s\):\n {2}- jitsi:domain must be a hostname.*\n {2}- jitsi:location must be a Hetzner location/s,
    );
  });

  it("runs the token issuer as a Worker on token.<domain> by default", async () => {
    const run = await runProgram(exampleConfig());
    expect(ofType(run, "cloudflare:index/workersScript:WorkersScript")).toHaveLength(1);
    expect(run.outputs.issuerUrl).toBe("https://token.meet-dev.example.com/");
  });

  it("with the issuer on the VM: no Worker, the issuer inside the secret user-data, and a valid cloud-init", async () => {
    const apiKey = "5e".repeat(20);
    const run = await runProgram(
      exampleConfig({ issuerTarget: "host", issuerApiKeys: JSON.stringify([apiKey]) }, ["issuerApiKeys"]),
    );
    expect(run.resources.filter((r) => r.type.startsWith("cloudflare:index/workers"))).toEqual([]);
    expect(run.outputs.issuerUrl).toBe("https://meet-dev.example.com/token/");
    const server = meetingOnly(ofType(run, SERVER))[0]!;
    expect(isSecretValue(server.inputs.userData)).toBe(true);
    const userData = String(revealSecrets(server.inputs.userData));
    const files = writtenFiles(userData);
    const envFile = files.find((f) => f.path === "/opt/jitsi/issuer/issuer.env");
    expect(envFile?.permissions).toBe("0600");
    expect(envFile?.content).toContain(`ISSUER_API_KEYS=${apiKey}`);
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "/opt/jitsi/issuer/issuer.mjs",
        "/opt/jitsi/docker-compose.issuer.yml",
        "/opt/jitsi/managed-config/web/nginx-custom/token-issuer.conf",
      ]),
    );
    const unit = files.find((f) => f.path === "/etc/systemd/system/jitsi-meet.service")!.content;
    expect(unit).toContain("-f docker-compose.yml -f /opt/jitsi/docker-compose.issuer.yml up -d");
    expect(Buffer.byteLength(userData)).toBeLessThan(32 * 1024);
    const schema = await cloudInitSchema(userData);
    expect(schema.ok, schema.output).toBe(true);
  });

  it("with the issuer off: no issuer resources and no issuer URL", async () => {
    const run = await runProgram(exampleConfig({ issuerTarget: "none" }));
    expect(run.resources.filter((r) => r.type.startsWith("cloudflare:index/workers"))).toEqual([]);
    expect(run.outputs).not.toHaveProperty("issuerUrl");
  });
});
