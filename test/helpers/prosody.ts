import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Daemon, freePort, startDaemon } from "./daemon";

/**
 * Debian's Prosody on 127.0.0.1 with a throwaway config shaped like docker-jitsi-meet's (XMPP domain
 * meet.jitsi, MUC muc.meet.jitsi, optional anonymous guest.meet.jitsi, websocket on plain HTTP), run as the
 * test user with its own data folder. It has no Jitsi token module: every login is anonymous.
 */
export interface ProsodyFixture {
  url: string;
  domain: string;
  mucDomain: string;
  guestDomain: string;
  stop(): Promise<void>;
}

export interface ProsodyOptions {
  guests?: boolean;
  /** Prosody's own muc option: only admins may create rooms (the refusal carries a text). */
  restrictRoomCreation?: boolean;
  /** Refuse SASL on the unencrypted websocket (a real SASL failure). */
  requireEncryption?: boolean;
}

export async function startProsody(options: ProsodyOptions = {}): Promise<ProsodyFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-prosody-"));
  if (!/^[\w/.-]+$/.test(dir)) throw new Error(`unexpected characters in ${dir}`);
  mkdirSync(path.join(dir, "data"));
  const port = await freePort();
  const lua = (value: string) => JSON.stringify(value); // plain paths and names only (checked above)
  const config = [
    "run_as_root = true", // CI containers run the tests as root; the fixture still never touches /etc/prosody
    `pidfile = ${lua(path.join(dir, "prosody.pid"))}`,
    `data_path = ${lua(path.join(dir, "data"))}`,
    `certificates = ${lua(dir)}`,
    "daemonize = false",
    'log = { { levels = { min = "error" }, to = "console" } }',
    'interfaces = { "127.0.0.1" }',
    "c2s_ports = {}",
    "s2s_ports = {}",
    "c2s_direct_tls_ports = {}",
    "s2s_direct_tls_ports = {}",
    "https_ports = {}",
    `http_ports = { ${port} }`,
    'http_interfaces = { "127.0.0.1" }',
    'http_default_host = "meet.jitsi"',
    `consider_websocket_secure = ${options.requireEncryption ? "false" : "true"}`,
    `c2s_require_encryption = ${options.requireEncryption ? "true" : "false"}`,
    'modules_enabled = { "disco", "saslauth", "ping", "websocket" }',
    'authentication = "anonymous"',
    'VirtualHost "meet.jitsi"',
    ...(options.guests ? ['VirtualHost "guest.meet.jitsi"'] : []),
    'Component "muc.meet.jitsi" "muc"',
    "    muc_room_locking = false",
    ...(options.restrictRoomCreation ? ["    restrict_room_creation = true"] : []),
    "",
  ].join("\n");
  const configFile = path.join(dir, "prosody.cfg.lua");
  writeFileSync(configFile, config);
  let daemon: Daemon;
  try {
    daemon = await startDaemon("prosody", "prosody", ["-F", "--config", configFile], port);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `ws://127.0.0.1:${port}/xmpp-websocket`,
    domain: "meet.jitsi",
    mucDomain: "muc.meet.jitsi",
    guestDomain: "guest.meet.jitsi",
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
