import ipaddr from "ipaddr.js";
import { z } from "zod";
import { BRIDGE_DOCS, bridgeFields, bridgeRules, type BridgeSettings, resolveBridges } from "./bridges";
import { boolField, type FieldDoc, HOSTNAME_RE, intField, listField, stringField } from "./fields";
import { ISSUER_DOCS, issuerFields, issuerRules, type IssuerSettings, resolveIssuer } from "./issuer";
import {
  RECORDING_DOCS,
  recordingFields,
  recordingRules,
  type RecordingSettings,
  resolveRecording,
} from "./recording";
import { resolveTurn, TURN_DOCS, turnFields, turnRules, type TurnSettings } from "./turn";
import { HETZNER_LOCATIONS, JITSI_RELEASE, SUPPORTED_IMAGES } from "./versions";

/** Every setting lives under this Pulumi config namespace: `pulumi config set jitsi:<key> <value>`. */
export const NAMESPACE = "jitsi";

/** Names the settings file in messages when it is not Pulumi.<stack>.yaml (the offline render's --stack-file). */
export const STACK_FILE_ENV = "JITSI_STACK_FILE";

const SSH_KEY_RE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const SHA1_RE = /^[0-9a-f]{40}$/;
const RELEASE_TAG_RE = /^stable-\d+(-\d+)?$/;
const ZONE_ID_RE = /^[0-9a-f]{32}$/;
const APP_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SERVER_TYPE_RE = /^(cx|cpx|cax|ccx)\d{2}$/;
const TIME_ZONES = new Set(Intl.supportedValuesOf("timeZone").concat("UTC"));

/**
 * An IANA zone name as the VM's tzdata spells it. ICU lists one canonical name per zone
 * (America/Buenos_Aires) but knows the others (America/Argentina/Buenos_Aires); case matters on the VM.
 */
function isTimeZone(tz: string): boolean {
  if (TIME_ZONES.has(tz)) return true;
  if (!/^[A-Z][A-Za-z_-]*(\/[A-Z][A-Za-z0-9_+-]*)+$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * For a CIDR whose address has bits set past the prefix (203.0.113.7/8), the network it most likely
 * meant and the single host; undefined when the CIDR is exact or unparsable.
 */
export function hostBitsProblem(cidr: string): string | undefined {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    return undefined;
  }
  const [address, prefix] = parsed;
  const network =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  if (network.toString() === address.toString()) return undefined;
  const single = address.kind() === "ipv4" ? 32 : 128;
  return `'${cidr}' has host bits set past /${prefix}; write the network ${network.toString()}/${prefix}, or ${address.toString()}/${single} for the one address`;
}

/** 0.0.0.0/0 or ::/0 (or any prefix length 0): the whole internet. */
export function isWholeInternet(cidr: string): boolean {
  try {
    return ipaddr.parseCIDR(cidr)[1] === 0;
  } catch {
    return false;
  }
}

/** The fields of the stack, each with the message that names what a good value looks like. */
const stackFields = {
  domain: stringField("must be a hostname like meet.example.com").regex(HOSTNAME_RE, {
    error: "must be a hostname like meet.example.com, without scheme, port or path",
  }),
  cloudflareZoneId: stringField("must be the 32-character zone id from the Cloudflare dashboard").regex(
    ZONE_ID_RE,
    {
      error:
        "must be the 32-character hex zone id shown on the zone's Overview page, like 023e105f4ecef8ad9ca31a8372d0c353",
    },
  ),
  cloudflareAccountId: stringField("must be the 32-character account id")
    .regex(ZONE_ID_RE, {
      error: "must be the 32-character hex account id, like 01a7362d577a6c3019a474fd6f485823",
    })
    .optional(),
  acmeEmail: stringField("must be an email address like ops@example.com").pipe(
    z.email({ error: "must be an email address like ops@example.com" }),
  ),
  acmeStaging: boolField("must be true or false").default(false),
  location: z
    .enum(HETZNER_LOCATIONS, { error: `must be a Hetzner location: ${HETZNER_LOCATIONS.join(", ")}` })
    .default("nbg1"),
  serverType: stringField("must be a Hetzner server type like cx33")
    .regex(SERVER_TYPE_RE, { error: "must be a Hetzner server type like cx33 (4 vCPU, 8 GB) or cpx32" })
    .default("cx33"),
  image: z
    .enum(SUPPORTED_IMAGES, { error: `must be one of ${SUPPORTED_IMAGES.join(", ")}` })
    .default("ubuntu-24.04"),
  sshPublicKeys: listField(
    stringField("must be an OpenSSH public key").regex(SSH_KEY_RE, {
      error: "must hold OpenSSH public keys like 'ssh-ed25519 AAAAC3... ops@laptop'",
    }),
    "must be a list of OpenSSH public keys, like ['ssh-ed25519 AAAAC3... ops@laptop']",
  ).refine((keys) => keys.length > 0, {
    error:
      "needs at least one key: without one Hetzner mails a root password, and SSH passwords are turned off",
  }),
  adminCidrs: listField(
    stringField("must be a CIDR")
      .refine(isCidr, { error: "must hold CIDRs like 203.0.113.7/32 or 2001:db8::/48" })
      .superRefine((cidr, ctx) => {
        // A firewall would silently widen 203.0.113.7/8 to all of 203.0.0.0/8.
        const problem = hostBitsProblem(cidr);
        if (problem) ctx.addIssue({ code: "custom", message: `must hold exact CIDRs: ${problem}` });
      }),
    "must be a list of CIDRs, like ['203.0.113.7/32']",
  ).default([]),
  allowSshFromAnywhere: boolField("must be true or false").default(false),
  jitsiRelease: stringField("must be a docker-jitsi-meet release tag")
    .regex(RELEASE_TAG_RE, { error: `must be a docker-jitsi-meet release tag like ${JITSI_RELEASE.tag}` })
    .optional(),
  jitsiCommit: stringField("must be a 40-character commit id")
    .regex(SHA1_RE, {
      error: `must be the full 40-character commit the tag resolves to, like ${JITSI_RELEASE.commit}`,
    })
    .optional(),
  jwtAppId: stringField("must be an app id")
    .regex(APP_ID_RE, {
      error: "must be 1-64 letters, digits, '.', '_' or '-', like jitsi-stack",
    })
    .default("jitsi-stack"),
  jwtAppSecret: z
    .string({ error: "must be a string" })
    .refine((s) => Buffer.byteLength(s, "utf8") >= 32, {
      error: "must be at least 32 bytes; generate one with: openssl rand -hex 32",
    })
    .refine((s) => /^[A-Za-z0-9._~+/=-]*$/.test(s), {
      error:
        "may hold only letters, digits and . _ ~ + / = - (hex or base64); generate one with: openssl rand -hex 32",
    })
    .optional(),
  enableGuests: boolField("must be true or false").default(true),
  enableLobby: boolField("must be true or false").default(false),
  enablePrejoin: boolField("must be true or false").default(false),
  timezone: stringField("must be an IANA time zone")
    .refine(isTimeZone, {
      error: "must be an IANA time zone like Europe/Berlin or UTC",
    })
    .default("UTC"),
  environment: z
    .enum(["dev", "staging", "production"], { error: "must be dev, staging or production" })
    .default("dev"),
  deleteProtection: boolField("must be true or false").default(false),
  hetznerBackups: boolField("must be true or false").optional(),
  dnsTtl: intField(60, 86400, "must be a whole number of seconds from 60 to 86400").default(60),
  stateVolumeGb: intField(
    10,
    1000,
    "must be a whole number of GB from 10 (Hetzner's minimum) to 1000",
  ).default(10),
  readinessTimeoutSeconds: intField(60, 3600, "must be a whole number of seconds from 60 to 3600").default(
    900,
  ),
  ...issuerFields,
  ...turnFields,
  ...bridgeFields,
  ...recordingFields,
};

/** Documentation for every setting: docs/settings.md's table is generated from this. */
export const SETTINGS_DOCS: Record<keyof typeof stackFields, FieldDoc> = {
  domain: {
    doc: "Hostname of the meeting site; A/AAAA records are created for it.",
    example: "meet.example.com",
  },
  cloudflareZoneId: {
    doc: "Cloudflare zone that holds `domain`.",
    example: "023e105f4ecef8ad9ca31a8372d0c353",
  },
  cloudflareAccountId: {
    doc: "Cloudflare account id; required when the token issuer runs as a Worker.",
    example: "01a7362d577a6c3019a474fd6f485823",
    default: "unset",
  },
  acmeEmail: { doc: "Let's Encrypt account email (expiry notices).", example: "ops@example.com" },
  acmeStaging: {
    doc: "Use Let's Encrypt's staging CA (untrusted certificates, generous rate limits) while experimenting.",
    example: "true",
    default: "false",
  },
  location: { doc: "Hetzner location.", example: "fsn1", default: "nbg1" },
  serverType: {
    doc: "Hetzner server type; the default has 4 vCPU and 8 GB for Jitsi's JVM services.",
    example: "cpx32",
    default: "cx33",
  },
  image: { doc: "Ubuntu image for the VM.", example: "ubuntu-22.04", default: "ubuntu-24.04" },
  sshPublicKeys: {
    doc: "OpenSSH public keys installed for root.",
    example: "['ssh-ed25519 AAAAC3Nz... ops@laptop']",
  },
  adminCidrs: {
    doc: "Source ranges allowed to reach SSH (22/tcp). Empty: no SSH rule at all.",
    example: "['203.0.113.7/32']",
    default: "[]",
  },
  allowSshFromAnywhere: {
    doc: "Permit 0.0.0.0/0 or ::/0 in `adminCidrs`. Refused otherwise.",
    example: "true",
    default: "false",
  },
  jitsiRelease: {
    doc: "docker-jitsi-meet release tag; must be set together with `jitsiCommit`.",
    example: JITSI_RELEASE.tag,
    default: JITSI_RELEASE.tag,
  },
  jitsiCommit: {
    doc: "Commit the release tag must resolve to; the VM refuses to start Jitsi on a mismatch.",
    example: JITSI_RELEASE.commit,
    default: JITSI_RELEASE.commit,
  },
  jwtAppId: { doc: "JWT `iss` and `aud` that Prosody accepts.", example: "my-app", default: "jitsi-stack" },
  jwtAppSecret: {
    doc: "HS256 secret shared by Prosody and the token issuer; at least 32 bytes. Set with `--secret`.",
    example: "$(openssl rand -hex 32)",
    default: "generated and kept in state",
    secret: true,
  },
  enableGuests: {
    doc: "Let people without a token join a room once a token holder is in it; until then they wait in the lobby and get in with no one clicking (turns the lobby component on).",
    example: "false",
    default: "true",
  },
  enableLobby: {
    doc: "Jitsi's lobby (knock to enter) for people without a token; token holders join directly unless a moderator turned the lobby on in that meeting. jitsi:enableGuests needs the lobby component too, so with guests on it is there either way.",
    example: "true",
    default: "false",
  },
  enablePrejoin: {
    doc: "Jitsi's pre-join page (name and device check before entering).",
    example: "true",
    default: "false",
  },
  timezone: { doc: "Time zone of the VM and containers.", example: "Europe/Berlin", default: "UTC" },
  environment: {
    doc: "What the stack is for; `production` is held to stricter policies.",
    example: "production",
    default: "dev",
  },
  deleteProtection: {
    doc: "Hetzner delete and rebuild protection on the server and its IPs; teardown refuses while it is on.",
    example: "true",
    default: "false",
  },
  hetznerBackups: {
    doc: "Hetzner's daily server backups (+20% of the server price).",
    example: "true",
    default: "same as deleteProtection",
  },
  dnsTtl: { doc: "TTL of the A/AAAA records, in seconds.", example: "300", default: "60" },
  stateVolumeGb: {
    doc: "Size of the Hetzner Volume that keeps certificates and Prosody data across server replacements (about €0.044/GB a month).",
    example: "20",
    default: "10",
  },
  readinessTimeoutSeconds: {
    doc: "How long `pulumi up` waits for https://<domain> to answer with a valid certificate.",
    example: "1200",
    default: "900",
  },
  ...ISSUER_DOCS,
  ...TURN_DOCS,
  ...BRIDGE_DOCS,
  ...RECORDING_DOCS,
};

export type Environment = "dev" | "staging" | "production";

/** The validated settings of one stack. Secret values are not in here: see `LoadedSettings`. */
export interface Settings {
  stack: string;
  domain: string;
  cloudflareZoneId: string;
  cloudflareAccountId?: string;
  acmeEmail: string;
  acmeStaging: boolean;
  location: (typeof HETZNER_LOCATIONS)[number];
  serverType: string;
  image: (typeof SUPPORTED_IMAGES)[number];
  sshPublicKeys: string[];
  adminCidrs: string[];
  jitsiRelease: { tag: string; commit: string };
  jwtAppId: string;
  enableGuests: boolean;
  enableLobby: boolean;
  enablePrejoin: boolean;
  timezone: string;
  environment: Environment;
  deleteProtection: boolean;
  hetznerBackups: boolean;
  dnsTtl: number;
  stateVolumeGb: number;
  readinessTimeoutSeconds: number;
  issuer: IssuerSettings;
  turn: TurnSettings;
  bridges: BridgeSettings;
  recording: RecordingSettings;
}

/** Secret settings, in plain text: only `config/load.ts` sees these before they are wrapped as Pulumi secrets. */
export interface SecretSettings {
  jwtAppSecret?: string;
  issuerApiKeys: string[];
  turnSecret?: string;
  /** The recording bucket's keys; both set whenever recording is on. */
  recordingKeys?: { accessKeyId: string; secretAccessKey: string };
}

export type ValidationResult =
  { ok: true; settings: Settings; secrets: SecretSettings } | { ok: false; errors: string[] };

type Parsed = { [K in keyof typeof stackFields]: z.output<(typeof stackFields)[K]> };
/** Records a problem with one key; cross-field rules use it to report against the key to change. */
export type Report = (key: string, message: string, item?: string) => void;

/** Rules that span several settings; each runs only when the settings it reads are valid on their own. */
function crossFieldRules(s: Partial<Parsed>, report: Report): void {
  const sshFromAnywhere = (s.adminCidrs ?? []).filter(isWholeInternet);
  if (sshFromAnywhere.length > 0 && s.allowSshFromAnywhere === false) {
    report(
      "adminCidrs",
      `opens SSH to the whole internet (${sshFromAnywhere.join(", ")}); list your own ranges like 203.0.113.7/32, or set jitsi:allowSshFromAnywhere true`,
    );
  }
  if (s.jitsiRelease !== undefined && s.jitsiCommit === undefined) {
    report(
      "jitsiCommit",
      `is required when jitsi:jitsiRelease is set, so the VM can verify the tag (for ${JITSI_RELEASE.tag}: ${JITSI_RELEASE.commit})`,
    );
  }
  if (s.jitsiCommit !== undefined && s.jitsiRelease === undefined) {
    report(
      "jitsiRelease",
      `is required when jitsi:jitsiCommit is set: name the tag the commit belongs to, like ${JITSI_RELEASE.tag}`,
    );
  }
  issuerRules(s, report);
  turnRules(s, report);
  bridgeRules(s, report);
  recordingRules(s, report);
}

/** The closest known key to a mistyped one, for "did you mean". */
function closestKey(key: string, known: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  const lower = key.toLowerCase();
  return known.find((k) => distance(lower, k.toLowerCase()) <= 2);
}

/**
 * A stand-in for an encrypted setting that cannot be decrypted offline, shaped as the setting
 * expects: the value itself, or a one-item list of it for list settings.
 */
export function offlinePlaceholder(key: string, value: string): string {
  const field = (stackFields as Record<string, z.ZodType>)[key];
  const asList = JSON.stringify([value]);
  if (field && !field.safeParse(value).success && field.safeParse(asList).success) return asList;
  return value;
}

/** Describes a raw value for an error message without ever echoing a secret. */
function describe(key: string, raw: Record<string, string>): string {
  const value = raw[key];
  if (value === undefined) return "it is not set";
  const doc = (SETTINGS_DOCS as Record<string, FieldDoc>)[key];
  if (doc?.secret) return `got a secret of ${Buffer.byteLength(value, "utf8")} bytes`;
  return `got '${value.length > 80 ? `${value.slice(0, 77)}...` : value}'`;
}

/**
 * Validates a stack's raw config (keys without the `jitsi:` prefix, values as Pulumi stores them)
 * and reports every problem at once, each naming its key, what was wrong and a good value.
 * With `secretKeys` (the keys Pulumi holds encrypted), a secret setting stored in plain text is refused.
 */
export function validateSettings(
  stack: string,
  raw: Record<string, string>,
  options: {
    secretKeys?: ReadonlySet<string>;
    /** The settings file, for messages; Pulumi.<stack>.yaml unless said otherwise. */
    file?: string;
    /** Config keys outside the `jitsi:` namespace (`project:key`), to point at a setting put in the wrong one. */
    otherKeys?: readonly string[];
  } = {},
): ValidationResult {
  const file = options.file ?? `Pulumi.${stack}.yaml`;
  const errors: string[] = [];
  const report: Report = (key, message, item) =>
    errors.push(`${NAMESPACE}:${key}${item ? ` (item ${item})` : ""} ${message} (${describe(key, raw)})`);
  const known = Object.keys(stackFields);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      const hint = closestKey(key, known);
      errors.push(
        `${NAMESPACE}:${key} is not a setting${hint ? `; did you mean ${NAMESPACE}:${hint}?` : "; see docs/settings.md"}`,
      );
    }
  }
  for (const key of options.otherKeys ?? []) {
    // `pulumi config set domain x` writes `<project>:domain`, which this program never reads.
    const name = key.slice(key.indexOf(":") + 1);
    if (known.includes(name)) {
      errors.push(
        `${key} is not read: settings live under the ${NAMESPACE}: namespace; did you mean ${NAMESPACE}:${name}? (pulumi config rm ${key} && pulumi config set ${NAMESPACE}:${name} <value>)`,
      );
    }
  }
  const values: Partial<Record<string, unknown>> = {};
  for (const [key, field] of Object.entries(stackFields)) {
    const result = (field as z.ZodType).safeParse(raw[key]);
    if (result.success) {
      values[key] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      report(key, issue.message, issue.path.length > 0 ? issue.path.join(".") : undefined);
    }
  }
  crossFieldRules(values as Partial<Parsed>, report);
  if (options.secretKeys) {
    for (const [key, doc] of Object.entries(SETTINGS_DOCS)) {
      if (doc.secret && raw[key] !== undefined && !options.secretKeys.has(key)) {
        report(
          key,
          `is stored in plain text in ${file}; store it encrypted: pulumi config set --secret ${NAMESPACE}:${key} <value>`,
        );
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const s = values as Parsed;
  const settings: Settings = {
    stack,
    domain: s.domain,
    cloudflareZoneId: s.cloudflareZoneId,
    cloudflareAccountId: s.cloudflareAccountId,
    acmeEmail: s.acmeEmail,
    acmeStaging: s.acmeStaging,
    location: s.location,
    serverType: s.serverType,
    image: s.image,
    sshPublicKeys: s.sshPublicKeys,
    adminCidrs: s.adminCidrs,
    jitsiRelease: { tag: s.jitsiRelease ?? JITSI_RELEASE.tag, commit: s.jitsiCommit ?? JITSI_RELEASE.commit },
    jwtAppId: s.jwtAppId,
    enableGuests: s.enableGuests,
    enableLobby: s.enableLobby,
    enablePrejoin: s.enablePrejoin,
    timezone: s.timezone,
    environment: s.environment,
    deleteProtection: s.deleteProtection,
    hetznerBackups: s.hetznerBackups ?? s.deleteProtection,
    dnsTtl: s.dnsTtl,
    stateVolumeGb: s.stateVolumeGb,
    readinessTimeoutSeconds: s.readinessTimeoutSeconds,
    issuer: resolveIssuer(s),
    turn: resolveTurn(s),
    bridges: resolveBridges(s),
    recording: resolveRecording(s),
  };
  return {
    ok: true,
    settings,
    secrets: {
      jwtAppSecret: s.jwtAppSecret,
      issuerApiKeys: s.issuerApiKeys ?? [],
      turnSecret: s.turnSecret,
      recordingKeys:
        s.recordingAccessKeyId !== undefined && s.recordingSecretAccessKey !== undefined
          ? { accessKeyId: s.recordingAccessKeyId, secretAccessKey: s.recordingSecretAccessKey }
          : undefined,
    },
  };
}
