import type { Settings } from "../../config/schema";
import { DOCKER_DEFAULT_POOLS, PRIVATE_NETWORK_CIDR, VM_LAYOUT } from "../../config/versions";

/** XMPP passwords the containers share; generated once and kept in state so logins survive redeploys. */
export const INTERNAL_PASSWORDS = [
  "JICOFO_AUTH_PASSWORD",
  "JVB_AUTH_PASSWORD",
  "JIGASI_XMPP_PASSWORD",
  "JIGASI_TRANSCRIBER_PASSWORD",
  "JIBRI_RECORDER_PASSWORD",
  "JIBRI_XMPP_PASSWORD",
] as const;
export type InternalPassword = (typeof INTERNAL_PASSWORDS)[number];

export interface JitsiEnvInput {
  settings: Settings;
  jwtAppSecret: string;
  passwords: Record<InternalPassword, string>;
  /** The primary IPv4 and IPv6 addresses the bridge advertises to clients. */
  advertiseIps: string[];
  /** Entries rendered elsewhere (TURN), checked like the rest. */
  extraEntries?: readonly EnvEntry[];
}

export interface EnvEntry {
  name: string;
  value: string;
  secret: boolean;
}

/** Values go into the env file unquoted, so only characters that need no quoting are accepted. */
const SAFE_VALUE = /^[A-Za-z0-9@._:/,=+~-]*$/;

const flag = (on: boolean): string => (on ? "1" : "0");
const plain = (name: string, value: string): EnvEntry => ({ name, value, secret: false });
const secret = (name: string, value: string): EnvEntry => ({ name, value, secret: true });

/**
 * Who moderates and who may open a room. context.user.moderator decides (token_affiliation: owner for
 * moderator true, member otherwise), so jicofo must grant nothing itself. With guests on, guests wait in
 * the lobby until a token holder is in the room, then get in with no one clicking (muc_wait_for_host).
 */
function moderationEntries(guests: boolean): EnvEntry[] {
  return [
    // JICOFO_ENABLE_AUTH defaults to ENABLE_AUTH (jicofo.conf line 3); on, jicofo's AuthenticationRoleManager
    // makes every authenticated occupant owner on each join, before it reads enable-auto-owner.
    plain("JICOFO_ENABLE_AUTH", "0"),
    // jicofo would otherwise make the first occupant owner.
    plain("ENABLE_AUTO_OWNER", "0"),
    plain("XMPP_MUC_MODULES", guests ? "token_affiliation,muc_wait_for_host" : "token_affiliation"),
    ...(guests
      ? [
          // muc_wait_for_host does nothing without persistent_lobby on the main VirtualHost.
          plain("XMPP_MODULES", "persistent_lobby"),
          // Otherwise muc_wait_for_host makes every token holder owner, overriding token_affiliation.
          plain("WAIT_FOR_HOST_DISABLE_AUTO_OWNERS", "1"),
        ]
      : []),
  ];
}

/**
 * Jitsi's rate_limit and muc_rate_limit modules: a client address that logs in or joins too often is
 * throttled. The stack's own services are exempt: jicofo and jvb on the compose network, and hosts on
 * the private network.
 */
function rateLimitEntries(): EnvEntry[] {
  return [
    plain("PROSODY_ENABLE_RATE_LIMITS", "1"),
    // Replaces the template's default (10.0.0.0/8); 127.0.0.1 is always allowed.
    plain("PROSODY_RATE_LIMIT_ALLOW_RANGES", [...DOCKER_DEFAULT_POOLS, PRIVATE_NETWORK_CIDR].join(",")),
    // The web container proxies /xmpp-websocket with X-Forwarded-For; Prosody uses it only from trusted
    // proxies (default 127.0.0.1 and ::1). Without the compose network here, every browser would have
    // the web container's address, which the allow-ranges exempt: no limit for anyone.
    plain("PROSODY_TRUSTED_PROXIES", ["127.0.0.1", "::1", ...DOCKER_DEFAULT_POOLS].join(",")),
  ];
}

/**
 * What compose itself reads from the `.env` of every VM that runs part of the release's stack (the
 * meeting VM, a bridge, a recorder): the volumes' root, the image tag, the restart policy, the clock and
 * the web ports. Compose loads the release's whole file even to start one service alone, and refuses it
 * when HTTP_PORT or HTTPS_PORT is blank (services.web.ports); only the meeting VM runs web and publishes them.
 */
export function composeEntries(s: Settings): EnvEntry[] {
  return [
    plain("CONFIG", VM_LAYOUT.configDir),
    plain("JITSI_IMAGE_VERSION", s.jitsiRelease.tag),
    plain("RESTART_POLICY", "unless-stopped"),
    plain("TZ", s.timezone),
    // The web container listens on 8000/8443; publish them on the standard ports (ACME needs 80).
    plain("HTTP_PORT", "80"),
    plain("HTTPS_PORT", "443"),
  ];
}

/** The `.env` of docker-jitsi-meet, as a list of entries. Each line names the upstream rule it follows. */
export function jitsiEnvEntries(input: JitsiEnvInput): EnvEntry[] {
  const { settings: s } = input;
  const entries: EnvEntry[] = [
    ...composeEntries(s),
    plain("PUBLIC_URL", `https://${s.domain}`),
    plain("ENABLE_HTTP_REDIRECT", "1"),
    plain("ENABLE_LETSENCRYPT", "1"),
    plain("LETSENCRYPT_DOMAIN", s.domain),
    plain("LETSENCRYPT_EMAIL", s.acmeEmail),
    // The ACME client defaults to ZeroSSL. acme.sh ignores --staging once a server is named, so the
    // server itself says staging or production (upstream web/rootfs/etc/s6-overlay/scripts/config).
    plain("LETSENCRYPT_ACME_SERVER", s.acmeStaging ? "letsencrypt_test" : "letsencrypt"),
    plain("LETSENCRYPT_USE_STAGING", flag(s.acmeStaging)),
    // muc_wait_for_host holds guests in the lobby component: with guests on it must exist, whatever
    // jitsi:enableLobby says (without it the module errors on every token holder's join).
    plain("ENABLE_LOBBY", flag(s.enableLobby || s.enableGuests)),
    plain("ENABLE_PREJOIN_PAGE", flag(s.enablePrejoin)),
    plain("ENABLE_AUTH", "1"),
    plain("AUTH_TYPE", "jwt"),
    plain("ENABLE_GUESTS", flag(s.enableGuests)),
    plain("JWT_APP_ID", s.jwtAppId),
    secret("JWT_APP_SECRET", input.jwtAppSecret),
    plain("JWT_ACCEPTED_ISSUERS", s.jwtAppId),
    plain("JWT_ACCEPTED_AUDIENCES", s.jwtAppId),
    plain("JWT_ALLOW_EMPTY", "0"),
    ...moderationEntries(s.enableGuests),
    ...rateLimitEntries(),
    // Replaces DOCKER_HOST_ADDRESS; media goes over 10000/udp to these addresses.
    plain("JVB_ADVERTISE_IPS", input.advertiseIps.join(",")),
    // web shows the record button, prosody makes the recorder accounts, jicofo asks the Jibri pool
    // (VARIABLES.tsv); the Jibri passwords below reach prosody here and jibri on each recorder.
    ...(s.recording.enabled ? [plain("ENABLE_RECORDING", "1")] : []),
    ...INTERNAL_PASSWORDS.map((name) => secret(name, input.passwords[name])),
    ...(input.extraEntries ?? []),
  ];
  return checkEnvEntries(entries);
}

/** Refuses an entry the env file cannot hold as it is, or an empty secret; returns the entries. */
export function checkEnvEntries(entries: EnvEntry[]): EnvEntry[] {
  for (const entry of entries) {
    if (!SAFE_VALUE.test(entry.value)) {
      const shown = entry.secret ? "a secret value" : `'${entry.value}'`;
      throw new Error(
        `.env entry ${entry.name} has ${shown} with characters that would need quoting; refusing to write it`,
      );
    }
    if (entry.secret && entry.value.length === 0) {
      // jicofo and jvb stop with "FATAL ERROR" on an empty password; no secret may be empty.
      throw new Error(`.env entry ${entry.name} is an empty secret`);
    }
  }
  return entries;
}

/** The env file's text; with `redact`, secret values are replaced by `[secret]`. */
export function formatEnv(entries: readonly EnvEntry[], options: { redact?: boolean } = {}): string {
  const header = "# Written by jitsi-stack; see README.md. Values are unquoted by design.\n";
  return (
    header +
    entries.map((e) => `${e.name}=${e.secret && options.redact ? "[secret]" : e.value}`).join("\n") +
    "\n"
  );
}
