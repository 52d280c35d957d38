import type { Settings } from "../../config/schema";
import { VM_LAYOUT } from "../../config/versions";

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

/** The `.env` of docker-jitsi-meet, as a list of entries. Each line names the upstream rule it follows. */
export function jitsiEnvEntries(input: JitsiEnvInput): EnvEntry[] {
  const { settings: s } = input;
  const plain = (name: string, value: string): EnvEntry => ({ name, value, secret: false });
  const secret = (name: string, value: string): EnvEntry => ({ name, value, secret: true });
  const entries: EnvEntry[] = [
    plain("CONFIG", VM_LAYOUT.configDir),
    plain("JITSI_IMAGE_VERSION", s.jitsiRelease.tag),
    plain("RESTART_POLICY", "unless-stopped"),
    plain("TZ", s.timezone),
    // The web container listens on 8000/8443; publish them on the standard ports (ACME needs 80).
    plain("HTTP_PORT", "80"),
    plain("HTTPS_PORT", "443"),
    plain("PUBLIC_URL", `https://${s.domain}`),
    plain("ENABLE_HTTP_REDIRECT", "1"),
    plain("ENABLE_LETSENCRYPT", "1"),
    plain("LETSENCRYPT_DOMAIN", s.domain),
    plain("LETSENCRYPT_EMAIL", s.acmeEmail),
    // The ACME client defaults to ZeroSSL.
    plain("LETSENCRYPT_ACME_SERVER", "letsencrypt"),
    plain("LETSENCRYPT_USE_STAGING", flag(s.acmeStaging)),
    plain("ENABLE_LOBBY", flag(s.enableLobby)),
    plain("ENABLE_PREJOIN_PAGE", flag(s.enablePrejoin)),
    plain("ENABLE_AUTH", "1"),
    plain("AUTH_TYPE", "jwt"),
    plain("ENABLE_GUESTS", flag(s.enableGuests)),
    plain("JWT_APP_ID", s.jwtAppId),
    secret("JWT_APP_SECRET", input.jwtAppSecret),
    plain("JWT_ACCEPTED_ISSUERS", s.jwtAppId),
    plain("JWT_ACCEPTED_AUDIENCES", s.jwtAppId),
    plain("JWT_ALLOW_EMPTY", "0"),
    // jicofo makes every authenticated user owner unless auto-owner is off and token_affiliation
    // grants owner only for context.user.moderator (or affiliation owner/moderator).
    plain("XMPP_MUC_MODULES", "token_affiliation"),
    plain("ENABLE_AUTO_OWNER", "0"),
    // Replaces DOCKER_HOST_ADDRESS; media goes over 10000/udp to these addresses.
    plain("JVB_ADVERTISE_IPS", input.advertiseIps.join(",")),
    ...INTERNAL_PASSWORDS.map((name) => secret(name, input.passwords[name])),
    ...(input.extraEntries ?? []),
  ];
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
