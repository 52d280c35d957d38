import { randomBytes } from "node:crypto";
import ipaddr from "ipaddr.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cidrToRange,
  coturnAptPin,
  coturnDropIn,
  coturnOptions,
  DENIED_PEERS,
  formatCoturnConfig,
} from "../../../infra/render/coturn";
import {
  type CoturnFixture,
  prosodyTurnCredentials,
  startCoturn,
  startUdpEcho,
  TEST_OVERRIDES,
  uclient,
} from "../../helpers/coturn";
import { settingsWith } from "../../helpers/settings";

const SECRET = randomBytes(24).toString("hex");
const turn = settingsWith().turn;
const options = coturnOptions({ turn, secret: SECRET });
const rendered = formatCoturnConfig(options);
const keys = options.map((o) => o.key);
const valueOf = (key: string) => options.find((o) => o.key === key)?.value;

describe("coturn configuration", () => {
  it("takes time-limited credentials only: the shared secret, and no static or anonymous users", () => {
    expect(keys).toContain("use-auth-secret");
    expect(valueOf("static-auth-secret")).toBe(SECRET);
    for (const key of ["user", "lt-cred-mech", "no-auth", "userdb", "allow-loopback-peers", "server-relay"]) {
      expect(keys, key).not.toContain(key);
    }
    expect(valueOf("realm")).toBe("turn.meet.example.com");
  });

  it("serves TURN over TLS on 443 and plain TURN on 3478, with a bounded relay range", () => {
    expect(valueOf("tls-listening-port")).toBe("443");
    expect(valueOf("listening-port")).toBe("3478");
    expect([valueOf("min-port"), valueOf("max-port")]).toEqual(["49152", "65535"]);
    expect(keys).toEqual(expect.arrayContaining(["no-tlsv1", "no-tlsv1_1", "no-dtls"]));
  });

  it("exposes no admin interface, relays UDP only and never to multicast", () => {
    expect(keys).toEqual(expect.arrayContaining(["no-cli", "no-tcp-relay", "no-multicast-peers"]));
    expect(keys).not.toContain("web-admin");
  });

  it("refuses private, loopback, link-local (metadata), CGNAT, Docker, ULA and IPv6 link-local peers", () => {
    const denied = DENIED_PEERS.map((p) => ipaddr.parseCIDR(p.cidr));
    const refused = (address: string) => {
      const ip = ipaddr.parse(address);
      return denied.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
    };
    for (const address of [
      "127.0.0.1",
      "169.254.169.254",
      "10.0.0.2",
      "172.17.0.1",
      "192.168.1.1",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "::ffff:10.0.0.1",
    ]) {
      expect(refused(address), address).toBe(true);
    }
    for (const address of ["203.0.113.10", "2001:db8:4a1:7e00::1", "8.8.8.8"]) {
      expect(refused(address), address).toBe(false);
    }
    expect(options.filter((o) => o.key === "denied-peer-ip").map((o) => o.value)).toEqual(
      DENIED_PEERS.map((p) => cidrToRange(p.cidr)),
    );
    expect(cidrToRange("169.254.0.0/16")).toBe("169.254.0.0-169.254.255.255");
    expect(cidrToRange("fc00::/7")).toBe("fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    expect(cidrToRange("::1/128")).toBe("::1");
  });

  it("writes the secret only where asked, and refuses values coturn would misread", () => {
    expect(rendered).toContain(`static-auth-secret=${SECRET}\n`);
    expect(formatCoturnConfig(options, { redact: true })).not.toContain(SECRET);
    expect(() => formatCoturnConfig(coturnOptions({ turn, secret: "a b#c".repeat(9) }))).toThrow(
      /^coturn option static-auth-secret has a secret value with characters coturn would misread$/,
    );
  });

  it("runs Ubuntu's coturn.service with our configuration, the certificate in place, and SIGUSR2 as reload", () => {
    const dropIn = coturnDropIn();
    expect(dropIn).toMatch(/^ExecStart=$/m);
    expect(dropIn).toMatch(
      /^ExecStart=\/usr\/bin\/turnserver -c \/etc\/jitsi-stack\/coturn\.conf --pidfile=$/m,
    );
    expect(dropIn).toMatch(/^ExecReload=\/bin\/kill -USR2 \$MAINPID$/m);
    expect(dropIn).toMatch(/^ConditionPathExists=\/etc\/jitsi-stack\/coturn-certs\/fullchain\.pem$/m);
    expect(dropIn).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(valueOf("cert")).toBe("/etc/jitsi-stack/coturn-certs/fullchain.pem");
    expect(coturnAptPin()).toBe("Package: coturn\nPin: version 4.6.1-*\nPin-Priority: 1001\n");
  });
});

// The tests of this block share one coturn and run at once: each uclient run makes its own allocation
// (its own credentials' username, relay port and permissions), and most of a run is uclient's pacing.
describe.concurrent("Debian's coturn with the configuration we render, on loopback", () => {
  let coturn: CoturnFixture;
  beforeAll(async () => {
    coturn = await startCoturn(rendered);
  });
  afterAll(async () => coturn?.stop());

  const credentials = () => prosodyTurnCredentials(SECRET, turn.credentialTtlSeconds);
  const portFor = (transport: "udp" | "tcp" | "tls") => (transport === "tls" ? coturn.tlsPort : coturn.port);

  it("runs our rendered text with only the documented ports, paths and listening addresses changed", () => {
    const before = new Set(rendered.split("\n").filter(Boolean));
    const after = new Set(coturn.config.split("\n").filter(Boolean));
    const key = (line: string) => line.split("=")[0]!;
    const removed = [...before].filter((l) => !after.has(l)).map(key);
    const added = [...after].filter((l) => !before.has(l)).map(key);
    expect(removed.sort()).toEqual(["cert", "listening-port", "pkey", "syslog", "tls-listening-port"].sort());
    expect([...new Set(added)].sort()).toEqual([...TEST_OVERRIDES.replaced, ...TEST_OVERRIDES.added].sort());
    expect(coturn.log()).toContain("Version Coturn-4.6.1");
  });

  it.each(["udp", "tcp", "tls"] as const)(
    "allocates a relay over %s with credentials computed as Prosody computes them",
    async (transport) => {
      const run = await uclient({
        transport,
        port: portFor(transport),
        ca: coturn.ca.caFile,
        ...credentials(),
      });
      expect(run.allocationFailed, run.output).toBe(false);
      expect(run.relayed.length, run.output).toBeGreaterThan(0);
      for (const relay of run.relayed) {
        expect(relay).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(Number(relay.split(":")[1])).toBeGreaterThanOrEqual(turn.relayPorts.min);
      }
    },
  );

  it("allocates an IPv6 relay too", async () => {
    const run = await uclient({ transport: "tcp", port: coturn.port, ipv6: true, ...credentials() });
    expect(run.relayed.length, run.output).toBeGreaterThan(0);
    expect(run.relayed.every((relay) => /^::1:\d+$/.test(relay))).toBe(true);
  });

  it("refuses a wrong password", async () => {
    const { username } = credentials();
    const wrong = prosodyTurnCredentials("another-secret-than-the-stacks-0123", 3600);
    const run = await uclient({ transport: "tcp", port: coturn.port, username, password: wrong.password });
    expect(run.allocationFailed, run.output).toBe(true);
    expect(run.relayed).toEqual([]);
  });

  it("refuses an expired credential, correctly signed", async () => {
    const expired = prosodyTurnCredentials(SECRET, -60);
    const run = await uclient({ transport: "tls", port: coturn.tlsPort, ca: coturn.ca.caFile, ...expired });
    expect(run.allocationFailed, run.output).toBe(true);
    expect(run.relayed).toEqual([]);
    expect(coturn.log()).toContain(`Cannot find credentials of user <${expired.username}>`);
  });

  it.each([
    ["203.0.113.10", false],
    ["2001:db8:4a1:7e00::1", true],
  ] as const)(
    "grants a permission for the public peer %s (no data is sent: the relay is on loopback)",
    async (peer, ipv6) => {
      const run = await uclient({ transport: "udp", port: coturn.port, peer, ipv6, ...credentials() });
      expect(run.relayed.length, run.output).toBeGreaterThan(0);
      expect(run.output).toMatch(/create perm sent: .*\n.*cp response received: \n.*success/);
      expect(run.peerRefused, run.output).toBe(false);
      expect(run.sent).toBe(0);
    },
  );

  it.each([
    ["127.0.0.1", false],
    ["169.254.169.254", false],
    ["10.0.0.2", false],
    ["172.17.0.1", false],
    ["192.168.1.1", false],
    ["100.64.0.1", false],
    ["::1", true],
    ["fc00::1", true],
    ["fe80::1", true],
  ] as const)("refuses a relay to %s", async (peer, ipv6) => {
    const run = await uclient({ transport: "udp", port: coturn.port, peer, ipv6, ...credentials() });
    expect(run.relayed.length, run.output).toBeGreaterThan(0);
    expect(run.peerRefused, run.output).toBe(true);
  });
});

// Each control starts its own coturn on free ports: they run at once.
describe.concurrent("controls: the refusals above come from our configuration", () => {
  const credentials = () => prosodyTurnCredentials(SECRET, 3600);

  it("with coturn's own loopback rule lifted (allow-loopback-peers), denied-peer-ip still refuses 127.0.0.1", async () => {
    const coturn = await startCoturn(rendered, { allowLoopbackPeers: true });
    try {
      const run = await uclient({ transport: "udp", port: coturn.port, peer: "127.0.0.1", ...credentials() });
      expect(run.relayed.length, run.output).toBeGreaterThan(0);
      expect(run.peerRefused, run.output).toBe(true);
    } finally {
      await coturn.stop();
    }
  });

  it("without our loopback ranges as well, the same client relays to a peer on 127.0.0.1 and back", async () => {
    const coturn = await startCoturn(rendered, {
      allowLoopbackPeers: true,
      withoutDenied: [cidrToRange("127.0.0.0/8")],
    });
    const echo = await startUdpEcho();
    try {
      const run = await uclient({
        transport: "tls",
        port: coturn.tlsPort,
        ca: coturn.ca.caFile,
        peer: "127.0.0.1",
        peerPort: echo.port,
        messages: 5,
        ...credentials(),
      });
      expect(run.peerRefused, run.output).toBe(false);
      expect([run.sent, run.received], run.output).toEqual([5, 5]);
    } finally {
      await Promise.all([coturn.stop(), echo.stop()]);
    }
  });
});
