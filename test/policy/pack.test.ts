import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JITSI_RELEASE } from "../../config/versions";
import { bridgeFirewallRules, firewallRules } from "../../infra/render/firewall";
import { turnFirewallLabels, turnFirewallRules } from "../../infra/render/turnFirewall";
import { settingsWith } from "../helpers/settings";
import { TYPES } from "../../policy/policies";
import { readStackConfig } from "../../scripts/lib/shared/stackConfig";
import { runProgram } from "../helpers/program";
import { type PolicyPackProcess, secret, startPolicyPack, UNKNOWN_STRING } from "./engine";

/** The pack, started as `pulumi preview --policy-pack policy` starts it, fed requests as the engine sends them. */
let pack: PolicyPackProcess;
beforeAll(async () => {
  pack = await startPolicyPack();
}, 90_000);
afterAll(async () => pack?.stop());

const jwtLine = () => `JWT_APP_SECRET=${randomBytes(32).toString("hex")}\n`;
const server = (overrides: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  serverType: "cx33",
  deleteProtection: true,
  rebuildProtection: true,
  backups: true,
  userData: secret(`#cloud-config\n${jwtLine()}`),
  labels: {
    app: "jitsi-stack",
    stack: "prod",
    environment: "production",
    "jitsi-release": JITSI_RELEASE.tag,
    "jitsi-commit": JITSI_RELEASE.commit,
    ...labels,
  },
  ...overrides,
});

describe("the policy pack blocks a dangerous preview", () => {
  it("passes every resource the program declares for the production stack, under its real type names", async () => {
    const run = await runProgram(readStackConfig("Pulumi.prod.yaml"), "prod");
    // The pack's type names must be the program's, or its policies would silently never apply.
    expect([...new Set(run.resources.map((r) => r.type))]).toEqual(
      expect.arrayContaining(Object.values(TYPES)),
    );
    for (const resource of run.resources) {
      expect(await pack.check(resource.type, resource.name, resource.inputs), resource.type).toEqual([]);
    }
    const firewall = run.resources.find((r) => r.type === TYPES.firewall)!;
    const sshFromAnywhere = [
      ...(firewall.inputs.rules as unknown[]),
      { direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"], description: "ssh" },
    ];
    const violations = await pack.check(firewall.type, firewall.name, {
      ...firewall.inputs,
      rules: sshFromAnywhere,
    });
    expect(violations.map((v) => v.policy)).toContain("no-ssh-from-internet");
  });

  it("passes the production stack as the program declares it", async () => {
    expect(await pack.check(TYPES.server, "meet-server", server())).toEqual([]);
    expect(
      await pack.check(TYPES.firewall, "meet-firewall", {
        rules: firewallRules(["203.0.113.7/32", "2001:db8:1234::/48"]),
      }),
    ).toEqual([]);
    expect(
      await pack.check(TYPES.dnsRecord, "meet-a", {
        zoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        name: "meet.example.com",
        type: "A",
        content: "203.0.113.10",
        proxied: false,
        ttl: 60,
      }),
    ).toEqual([]);
  });

  it("fails SSH from anywhere and a closed media port, as mandatory violations", async () => {
    const rules = firewallRules([]).filter((r) => r.port !== "10000");
    rules.push({
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: ["0.0.0.0/0"],
      description: "ssh",
    });
    const violations = await pack.check(TYPES.firewall, "meet-firewall", { rules });
    expect(violations.map((v) => [v.policy, v.level])).toEqual([
      ["no-ssh-from-internet", "mandatory"],
      ["meeting-ports-open", "mandatory"],
    ]);
    expect(violations[1]!.message).toContain("10000/udp");
  });

  it("fails a proxied meeting record", async () => {
    const violations = await pack.check(TYPES.dnsRecord, "meet-aaaa", {
      name: "meet.example.com",
      type: "AAAA",
      content: "2001:db8::1",
      proxied: true,
    });
    expect(violations.map((v) => v.policy)).toEqual(["meeting-dns-not-proxied"]);
  });

  it("fails an unprotected production server and an unpinned release", async () => {
    const violations = await pack.check(
      TYPES.server,
      "meet-server",
      server({ deleteProtection: false, rebuildProtection: false }, { "jitsi-release": "latest" }),
    );
    expect(violations.map((v) => [v.policy, v.level])).toEqual([
      ["production-server-protected", "mandatory"],
      ["jitsi-release-pinned", "mandatory"],
    ]);
  });
});

describe("the state volume", () => {
  it("fails a production volume without delete protection, and passes a protected one", async () => {
    const labels = { app: "jitsi-stack", stack: "prod", environment: "production" };
    const open = await pack.check(TYPES.volume, "meet-state", { size: 10, deleteProtection: false, labels });
    expect(open.map((v) => [v.policy, v.level])).toEqual([["production-volume-protected", "mandatory"]]);
    expect(open[0]!.message).toContain("meet-state: is a production state volume without deleteProtection");
    expect(
      await pack.check(TYPES.volume, "meet-state", { size: 10, deleteProtection: true, labels }),
    ).toEqual([]);
    const dev = await pack.check(TYPES.volume, "meet-state", {
      size: 10,
      labels: { ...labels, environment: "dev" },
    });
    expect(dev).toEqual([]);
  });
});

describe("the policy pack knows the TURN relay", () => {
  const turn = settingsWith().turn;
  const turnFirewall = (rules = turnFirewallRules(turn, ["203.0.113.7/32"])) => ({
    labels: { app: "jitsi-stack", stack: "prod", environment: "production", ...turnFirewallLabels(turn) },
    rules,
  });
  const turnServer = (labels: Record<string, string> = {}) =>
    server(
      {},
      { role: "turn", "coturn-version": "4.6.1", "jitsi-release": "", "jitsi-commit": "", ...labels },
    );

  it("passes the TURN firewall and server the program builds, which need no meeting ports or Jitsi release", async () => {
    expect(await pack.check(TYPES.firewall, "turn-firewall", turnFirewall())).toEqual([]);
    const { "jitsi-release": _tag, "jitsi-commit": _commit, ...labels } = turnServer().labels;
    expect(await pack.check(TYPES.server, "turn-server", { ...turnServer(), labels })).toEqual([]);
  });

  it("fails a TURN firewall with a port it does not serve, and one missing a TURN port", async () => {
    const extra = [
      ...turnFirewallRules(turn, []),
      { direction: "in", protocol: "tcp", port: "5766", sourceIps: ["0.0.0.0/0"], description: "cli" },
    ];
    const violations = await pack.check(TYPES.firewall, "turn-firewall", turnFirewall(extra as never));
    expect(violations.map((v) => [v.policy, v.level])).toEqual([["turn-firewall-exact", "mandatory"]]);
    const missing = turnFirewallRules(turn, []).filter((r) => r.protocol !== "udp");
    const closed = await pack.check(TYPES.firewall, "turn-firewall", turnFirewall(missing));
    expect(closed.map((v) => v.policy)).toEqual(["turn-firewall-exact", "turn-firewall-exact"]);
  });

  it("fails an unpinned coturn, an unprotected production TURN server and an unknown role", async () => {
    const unpinned = await pack.check(TYPES.server, "turn-server", {
      ...turnServer({ "coturn-version": "latest" }),
      deleteProtection: false,
    });
    expect(unpinned.map((v) => v.policy).sort()).toEqual(["coturn-pinned", "production-server-protected"]);
    const unknown = await pack.check(TYPES.firewall, "odd-firewall", {
      labels: { environment: "dev", role: "proxy" },
      rules: [],
    });
    expect(unknown.map((v) => v.policy)).toEqual(["known-role"]);
  });

  it("knows the recorder role: a recorder's SSH-only firewall passes known-role", async () => {
    const recorder = await pack.check(TYPES.firewall, "jitsi-dev-recorder-1-firewall", {
      labels: { environment: "dev", role: "recorder" },
      rules: [
        { direction: "in", protocol: "tcp", port: "22", sourceIps: ["203.0.113.7/32"], description: "SSH" },
      ],
    });
    expect(recorder.map((v) => v.policy)).toEqual([]);
  });
});

describe("plaintext secrets are told apart from Pulumi secrets", () => {
  it("fails user data that holds the JWT secret in plain text, without echoing it", async () => {
    const line = jwtLine();
    const violations = await pack.check(
      TYPES.server,
      "meet-server",
      server({ userData: `#cloud-config\n${line}` }),
    );
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ policy: "no-plaintext-secrets", level: "mandatory" });
    expect(violations[0]!.message).toContain("userData holds a secret assignment of JWT_APP_SECRET");
    expect(violations[0]!.message).not.toContain(line.split("=")[1]!.trim());
  });

  it("fails a Worker secret_text binding that is not a secret, and passes one that is", async () => {
    const worker = (text: unknown) => ({
      scriptName: "jitsi-token-issuer",
      content: "export default {}",
      bindings: [{ type: "secret_text", name: "JWT_APP_SECRET", text }],
    });
    const type = "cloudflare:index/workersScript:WorkersScript";
    const plain = await pack.check(type, "issuer", worker(randomBytes(32).toString("hex")));
    expect(plain.map((v) => v.policy)).toEqual(["no-plaintext-secrets"]);
    expect(plain[0]!.message).toContain("bindings[0].text");
    expect(await pack.check(type, "issuer", worker(secret(randomBytes(32).toString("hex"))))).toEqual([]);
  });

  it("runs in preview when inputs are not known yet", async () => {
    const violations = await pack.check(TYPES.server, "meet-server", server({ userData: UNKNOWN_STRING }));
    expect(violations).toEqual([]);
  });

  it("fails closed when the secrets policy is run without its remediate pass", async () => {
    const violations = await pack.analyzeOnly(TYPES.dnsRecord, "never-remediated", { name: "x", type: "A" });
    expect(violations).toHaveLength(1);
    expect(violations[0]!.message).toContain("remediate pass did not run");
  });
});

describe("the policy pack knows the bridges", () => {
  const bridgeFirewall = (rules = bridgeFirewallRules(["203.0.113.7/32"])) => ({
    labels: { app: "jitsi-stack", stack: "prod", environment: "production", role: "bridge" },
    rules,
  });

  it("passes every resource of a production stack with two bridges and Octo", async () => {
    const prod = readStackConfig("Pulumi.prod.yaml");
    const config = { ...prod.config, "jitsi:bridges": "2", "jitsi:octo": "true" };
    const run = await runProgram({ ...prod, config }, "prod");
    expect(run.resources.filter((r) => r.name.includes("-bridge-2-server"))).toHaveLength(1);
    for (const resource of run.resources) {
      expect(await pack.check(resource.type, resource.name, resource.inputs), resource.name).toEqual([]);
    }
  });

  it("passes the bridge firewall and server the program builds", async () => {
    expect(await pack.check(TYPES.firewall, "bridge-1-firewall", bridgeFirewall())).toEqual([]);
    expect(await pack.check(TYPES.server, "bridge-1-server", server({}, { role: "bridge" }))).toEqual([]);
  });

  it("fails a bridge firewall that opens more than media and SSH, or closes media", async () => {
    const web = {
      direction: "in",
      protocol: "tcp",
      port: "443",
      sourceIps: ["0.0.0.0/0", "::/0"],
      description: "",
    };
    const extra = await pack.check(
      TYPES.firewall,
      "bridge-1-firewall",
      bridgeFirewall([...bridgeFirewallRules([]), web] as never),
    );
    expect(extra.map((v) => [v.policy, v.level])).toEqual([["bridge-firewall-exact", "mandatory"]]);
    expect(extra[0]!.message).toMatch(/rules\[1\] opens 443\/tcp, which a bridge does not serve/);
    const closed = await pack.check(TYPES.firewall, "bridge-1-firewall", bridgeFirewall([]));
    expect(closed.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /no inbound rule opens 10000\/udp to 0\.0\.0\.0\/0 and ::\/0; clients need it for media/,
      ),
    ]);
    // Not the meeting VM's rules: a bridge needs no web ports, and the meeting policy does not apply to it.
    expect(
      (await pack.check(TYPES.firewall, "bridge-1-firewall", bridgeFirewall())).map((v) => v.policy),
    ).not.toContain("meeting-ports-open");
  });

  it("lets a production bridge go without delete protection (no state; scaling in deletes it), but not the meeting VM", async () => {
    const unprotected = { deleteProtection: false, rebuildProtection: false };
    expect(
      await pack.check(TYPES.server, "bridge-1-server", server(unprotected, { role: "bridge" })),
    ).toEqual([]);
    const meeting = await pack.check(TYPES.server, "meeting-server", server(unprotected));
    expect(meeting.map((v) => v.policy)).toEqual(["production-server-protected"]);
  });

  it("fails a bridge server whose Jitsi release is not pinned", async () => {
    const unpinned = await pack.check(
      TYPES.server,
      "bridge-1-server",
      server({}, { role: "bridge", "jitsi-release": "" }),
    );
    expect(unpinned.map((v) => v.policy)).toEqual(["jitsi-release-pinned"]);
  });
});
