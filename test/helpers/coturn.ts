import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import dgram from "node:dgram";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCommand } from "./command";
import { type Daemon, freePort, startDaemon } from "./daemon";
import { makeTestCa, type TestCa } from "./testCa";

/**
 * What a test may change in the coturn configuration we render, and nothing else:
 * - ports: free ports on loopback instead of 3478 and 443 (`listening-port`, `tls-listening-port`);
 * - paths: the certificate and key issued by the test CA (`cert`, `pkey`), coturn's user database in the
 *   test's folder (`userdb`), and the log in a file there instead of syslog (`log-file`, `simple-log`);
 * - addresses: the VM listens on every address it has; the test listens on 127.0.0.1 and ::1 only
 *   (`listening-ip`), which narrows the rendered configuration and relaxes nothing.
 * Everything else (secret, realm, TLS versions, relay ports, every refused peer range) is the rendered text.
 */
export const TEST_OVERRIDES = {
  replaced: ["listening-port", "tls-listening-port", "cert", "pkey"],
  removed: ["syslog"],
  added: ["listening-ip", "userdb", "log-file", "simple-log"],
} as const;

/**
 * Controls that prove a test can tell "refused by our configuration" from "refused anyway". They are not
 * part of the override list: a test that uses one says so in its name.
 */
export interface CoturnControl {
  /** coturn refuses loopback peers on its own unless this is set. */
  allowLoopbackPeers?: boolean;
  /** denied-peer-ip values to leave out. */
  withoutDenied?: string[];
}

const option = (line: string) => /^([a-z0-9_-]+)(?:=|$)/.exec(line)?.[1];

/** The rendered configuration with exactly the documented overrides (and any control) applied. */
export function testConfig(
  rendered: string,
  values: { port: number; tlsPort: number; certFile: string; keyFile: string; dir: string },
  control: CoturnControl = {},
): string {
  const replacements: Record<string, string> = {
    "listening-port": String(values.port),
    "tls-listening-port": String(values.tlsPort),
    cert: values.certFile,
    pkey: values.keyFile,
  };
  const lines = rendered
    .split("\n")
    .filter((line) => !(TEST_OVERRIDES.removed as readonly string[]).includes(option(line) ?? ""))
    .filter((line) => !control.withoutDenied?.some((range) => line === `denied-peer-ip=${range}`))
    .map((line) => {
      const key = option(line);
      return key && key in replacements ? `${key}=${replacements[key]}` : line;
    });
  return [
    ...lines.filter((line) => line !== ""),
    "listening-ip=127.0.0.1",
    "listening-ip=::1",
    `userdb=${path.join(values.dir, "turndb")}`,
    `log-file=${path.join(values.dir, "turn.log")}`,
    "simple-log",
    ...(control.allowLoopbackPeers ? ["allow-loopback-peers"] : []),
    "",
  ].join("\n");
}

export interface CoturnFixture {
  port: number;
  tlsPort: number;
  ca: TestCa;
  /** The configuration coturn runs with. */
  config: string;
  /** The folder coturn reads fullchain.pem and privkey.pem from. */
  certDir: string;
  /** Serial number of the certificate coturn was started with. */
  serial: string;
  log(): string;
  pid: number;
  stop(): Promise<void>;
}

/** Names on the test certificates: the default TURN hostname and the loopback addresses. */
export const TEST_CERT_NAMES = ["DNS:turn.meet.example.com", "IP:127.0.0.1", "IP:::1"];

/** Debian's coturn on loopback, with our rendered configuration and the documented overrides. */
export async function startCoturn(rendered: string, control: CoturnControl = {}): Promise<CoturnFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-coturn-"));
  const ca = makeTestCa(dir);
  const leaf = ca.issue("turn.meet.example.com", TEST_CERT_NAMES);
  // Laid out as on the VM: the deploy hook's folder, which coturn reads.
  const certDir = path.join(dir, "certs");
  mkdirSync(certDir);
  copyFileSync(leaf.certFile, path.join(certDir, "fullchain.pem"));
  copyFileSync(leaf.keyFile, path.join(certDir, "privkey.pem"));
  const [port, tlsPort] = [await freePort(), await freePort()];
  const config = testConfig(
    rendered,
    {
      port,
      tlsPort,
      certFile: path.join(certDir, "fullchain.pem"),
      keyFile: path.join(certDir, "privkey.pem"),
      dir,
    },
    control,
  );
  const configFile = path.join(dir, "turnserver.conf");
  writeFileSync(configFile, config, { mode: 0o600 });
  const pidFile = path.join(dir, "turnserver.pid");
  let daemon: Daemon;
  try {
    daemon = await startDaemon("coturn", "turnserver", ["-c", configFile, `--pidfile=${pidFile}`], port);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const log = () => readFileSync(path.join(dir, "turn.log"), "utf8");
  return {
    port,
    tlsPort,
    ca,
    config,
    certDir,
    serial: leaf.serial,
    log,
    pid: Number(readFileSync(pidFile, "utf8").trim()),
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * TURN REST credentials as Prosody's mod_external_services makes them from `TURN_CREDENTIALS`
 * (algorithm "turn"): username = the expiry time in seconds, password = base64 HMAC-SHA1 of the username.
 */
export function prosodyTurnCredentials(secret: string, ttlSeconds: number, nowMs = Date.now()) {
  const username = String(Math.floor(nowMs / 1000) + ttlSeconds);
  return { username, password: createHmac("sha1", secret).update(username).digest("base64") };
}

const TLS12_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384";

export interface UclientRun {
  output: string;
  status: number | null;
  /** Relay addresses the server allocated. */
  relayed: string[];
  /** The server refused the peer (403 Forbidden IP). */
  peerRefused: boolean;
  /** The allocation was never granted (bad or expired credentials). */
  allocationFailed: boolean;
  /** Messages relayed to the peer and back. */
  sent: number;
  received: number;
}

/**
 * Debian's turnutils_uclient: one client allocates a relay over `transport`, asks for a permission to
 * `peer` (Send method, so a refusal shows as a CreatePermission error) and relays `messages` to it.
 * Asynchronous: a run spends seconds waiting (uclient's own pacing), so tests may run several at once.
 */
export async function uclient(args: {
  port: number;
  transport: "udp" | "tcp" | "tls";
  username: string;
  password: string;
  peer?: string;
  peerPort?: number;
  ca?: string;
  messages?: number;
  /** Connect over ::1 and ask for an IPv6 relay. */
  ipv6?: boolean;
}): Promise<UclientRun> {
  const flags = [
    ...["-v", "-s", "-c", "-m", "1", "-n", String(args.messages ?? 0)],
    ...["-p", String(args.port), "-u", args.username, "-w", args.password],
    ...["-e", args.peer ?? (args.ipv6 ? "::1" : "127.0.0.1"), "-r", String(args.peerPort ?? 3480)],
    ...(args.transport === "udp" ? [] : ["-t"]),
    // uclient picks one of its TLS contexts at random per connection, TLS 1.0 and 1.1 among them; our
    // server refuses those by waiting them out. With TLS 1.2 ciphers only, such a pick fails on the client
    // side at once and uclient tries another, as a browser (TLS 1.2 or 1.3 only) never needs to.
    ...(args.transport === "tls" ? ["-S", "-E", args.ca ?? "", "-F", TLS12_CIPHERS] : []),
    ...(args.ipv6 ? ["-x"] : []),
    args.ipv6 ? "::1" : "127.0.0.1",
  ];
  // A TLS client that cannot verify the server retries forever: bound every run.
  const result = await runCommand("turnutils_uclient", flags, { timeout: 20_000 });
  const output = `${result.stdout}${result.stderr}`;
  const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
  return {
    output,
    status: result.status,
    relayed: [...output.matchAll(/Received relay addr: (\S+)/g)].map((m) => m[1]!),
    peerRefused: /create permission error 403 \(Forbidden IP\)/.test(output),
    allocationFailed: /Cannot complete Allocation/.test(output),
    sent: Number(totals?.[1] ?? 0),
    received: Number(totals?.[2] ?? 0),
  };
}

/** Debian's turnutils_peer, a UDP echo server, on 127.0.0.1; resolves once it echoes. */
export async function startUdpEcho(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn("turnutils_peer", ["-L", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const socket = dgram.createSocket("udp4");
  try {
    const echoed = new Promise<void>((resolve) => socket.once("message", () => resolve()));
    for (let attempt = 0; attempt < 100; attempt += 1) {
      socket.send("ping", port, "127.0.0.1");
      const done = await Promise.race([
        echoed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50)),
      ]);
      if (done) break;
      if (attempt === 99) throw new Error(`turnutils_peer never echoed on 127.0.0.1:${port}`);
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    socket.close();
  }
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
