import { z } from "zod";
import { DEFAULT_OIDC_ALGORITHMS, OIDC_ALGORITHMS } from "../issuer/config";
import { boolField, type FieldDoc, HOSTNAME_RE, intField, listField, stringField } from "./fields";

/** Settings of the token issuer (see issuer/ and infra/tokenIssuer.ts), part of the one settings schema. */

export const ISSUER_TARGETS = ["worker", "host", "none"] as const;
export type IssuerTarget = (typeof ISSUER_TARGETS)[number];

const ORIGIN_RE = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;
const CLAIM_RE = /^[A-Za-z0-9_.:/-]{1,128}$/;
const ROOM_PATTERN_RE = /^(\*|[a-z0-9][a-z0-9._-]{0,127}\*?)$/;

export const issuerFields = {
  issuerTarget: z
    .enum(ISSUER_TARGETS, { error: `must be one of ${ISSUER_TARGETS.join(", ")}` })
    .default("worker"),
  issuerHostname: stringField("must be a hostname like token.meet.example.com")
    .regex(HOSTNAME_RE, { error: "must be a hostname like token.meet.example.com" })
    .optional(),
  issuerApiKeys: listField(
    z
      .string()
      .refine((k) => k.length >= 32, {
        error: "must hold keys of at least 32 characters; generate one with: openssl rand -hex 32",
      })
      .refine((k) => /^[A-Za-z0-9._~+/=-]+$/.test(k), {
        // Keys travel as `Bearer <key>`, as a comma list in ISSUER_API_KEYS, and unquoted in the VM's env file.
        error:
          "must hold keys of letters, digits and . _ ~ + / = - only (hex or base64); generate one with: openssl rand -hex 32",
      }),
    'must be a list of API keys, like ["<openssl rand -hex 32>"]',
  ).optional(),
  issuerCorsOrigins: listField(
    stringField("must be an origin").regex(ORIGIN_RE, {
      error: "must hold origins like https://app.example.com (scheme and host, no path)",
    }),
    "must be a list of origins, like ['https://app.example.com']",
  ).default([]),
  issuerMaxTtlSeconds: intField(60, 86400, "must be a whole number of seconds from 60 to 86400").default(
    3600,
  ),
  issuerRateLimitPerMinute: intField(1, 10000, "must be a whole number of requests from 1 to 10000").default(
    60,
  ),
  issuerOidcIssuer: stringField("must be an https URL")
    .regex(/^https:\/\/\S+$/, {
      error: "must be the identity provider's issuer URL, like https://login.example.com/",
    })
    .optional(),
  issuerOidcAudience: stringField("must be the client id the identity provider puts in `aud`")
    .min(1)
    .optional(),
  issuerOidcJwksUrl: stringField("must be an https URL")
    .regex(/^https:\/\/\S+$/, {
      error: "must be the provider's JWKS URL, like https://login.example.com/.well-known/jwks.json",
    })
    .optional(),
  issuerOidcModeratorGroup: stringField("must be a group name").min(1).optional(),
  issuerOidcAlgorithms: listField(
    z.enum(OIDC_ALGORITHMS, { error: `must hold asymmetric algorithms: ${OIDC_ALGORITHMS.join(", ")}` }),
    "must be a list of algorithms, like ['RS256']",
  ).default(DEFAULT_OIDC_ALGORITHMS),
  issuerOidcNameClaim: stringField("must be a claim name")
    .regex(CLAIM_RE, { error: "must be a claim name like name or preferred_username" })
    .default("name"),
  issuerOidcEmailClaim: stringField("must be a claim name")
    .regex(CLAIM_RE, { error: "must be a claim name like email" })
    .default("email"),
  issuerOidcGroupsClaim: stringField("must be a claim name")
    .regex(CLAIM_RE, { error: "must be a claim name like groups or roles" })
    .default("groups"),
  issuerOidcRooms: listField(
    stringField("must be a room pattern").regex(ROOM_PATTERN_RE, {
      error: "must hold room names or prefixes ending in *, like team-* (or * for any room)",
    }),
    "must be a list of room patterns, like ['team-*', 'town-hall']",
  ).default(["*"]),
  issuerAllowAllRooms: boolField("must be true or false").default(false),
};

export const ISSUER_DOCS: Record<keyof typeof issuerFields, FieldDoc> = {
  issuerTarget: {
    doc: "Where the token issuer runs: a Cloudflare Worker, a container on the VM (`/token/`), or nowhere.",
    example: "host",
    default: "worker",
  },
  issuerHostname: {
    doc: "Custom domain of the Worker.",
    example: "tokens.example.com",
    default: "token.<domain>",
  },
  issuerApiKeys: {
    doc: "Bearer keys for app backends (several allow rotation). Set with `--secret`.",
    example: '["<openssl rand -hex 32>"]',
    default: "one generated key, exported as a secret",
    secret: true,
  },
  issuerCorsOrigins: {
    doc: "Browser origins allowed to call the issuer.",
    example: "['https://app.example.com']",
    default: "[]",
  },
  issuerMaxTtlSeconds: {
    doc: "Longest token lifetime a caller may ask for.",
    example: "600",
    default: "3600",
  },
  issuerRateLimitPerMinute: { doc: "Token requests per caller per minute.", example: "120", default: "60" },
  issuerOidcIssuer: {
    doc: "OIDC issuer whose ID tokens may ask for room tokens.",
    example: "https://login.example.com/",
    default: "unset (OIDC off)",
  },
  issuerOidcAudience: { doc: "Expected `aud` of those ID tokens.", example: "jitsi-app", default: "unset" },
  issuerOidcJwksUrl: {
    doc: "JWKS URL of the OIDC provider.",
    example: "https://login.example.com/.well-known/jwks.json",
    default: "unset",
  },
  issuerOidcModeratorGroup: {
    doc: "Group claim value that makes an OIDC caller a moderator.",
    example: "meeting-hosts",
    default: "unset",
  },
  issuerOidcAlgorithms: {
    doc: "Signature algorithms accepted on ID tokens (asymmetric only).",
    example: "['RS256']",
    default: "['RS256', 'ES256']",
  },
  issuerOidcNameClaim: {
    doc: "ID token claim used as the participant's display name.",
    example: "preferred_username",
    default: "name",
  },
  issuerOidcEmailClaim: {
    doc: "ID token claim used as the participant's email.",
    example: "mail",
    default: "email",
  },
  issuerOidcGroupsClaim: {
    doc: "ID token claim listing the caller's groups (checked for the moderator group).",
    example: "roles",
    default: "groups",
  },
  issuerOidcRooms: {
    doc: "Room policy for OIDC callers: room names or prefixes ending in `*`; `*` is any room.",
    example: "['team-*', 'town-hall']",
    default: "['*']",
  },
  issuerAllowAllRooms: {
    doc: 'Let callers ask for `room: "*"` (a token valid in every room).',
    example: "true",
    default: "false",
  },
};

type IssuerRaw = { [K in keyof typeof issuerFields]: z.output<(typeof issuerFields)[K]> } & {
  domain: string;
  cloudflareAccountId?: string;
};

export interface IssuerSettings {
  target: IssuerTarget;
  /** Worker custom domain (worker target only). */
  hostname: string;
  corsOrigins: string[];
  maxTtlSeconds: number;
  rateLimitPerMinute: number;
  allowAllRooms: boolean;
  oidc?: {
    issuer: string;
    audience: string;
    jwksUrl: string;
    moderatorGroup?: string;
    algorithms: string[];
    nameClaim: string;
    emailClaim: string;
    groupsClaim: string;
    /** Room policy of OIDC callers (API-key callers may ask for any room). */
    rooms: string[];
  };
}

export function issuerRules(s: Partial<IssuerRaw>, report: (key: string, message: string) => void): void {
  if (s.issuerTarget === "worker" && !s.cloudflareAccountId) {
    report(
      "cloudflareAccountId",
      "is required when jitsi:issuerTarget is worker; set it to your 32-character account id, or set jitsi:issuerTarget host",
    );
  }
  if (s.issuerHostname !== undefined && s.issuerHostname === s.domain) {
    report(
      "issuerHostname",
      `must differ from jitsi:domain: the Worker's custom domain would take over the meeting site; use token.${s.domain}`,
    );
  }
  const oidcKeys = ["issuerOidcIssuer", "issuerOidcAudience", "issuerOidcJwksUrl"] as const;
  const setOidc = oidcKeys.filter((k) => s[k] !== undefined);
  if (setOidc.length > 0 && setOidc.length < oidcKeys.length) {
    for (const k of oidcKeys.filter((key) => s[key] === undefined)) {
      report(
        k,
        `is required once ${setOidc.map((x) => `jitsi:${x}`).join(", ")} is set; OIDC needs issuer, audience and JWKS URL together`,
      );
    }
  }
}

export function resolveIssuer(s: IssuerRaw): IssuerSettings {
  return {
    target: s.issuerTarget,
    hostname: s.issuerHostname ?? `token.${s.domain}`,
    corsOrigins: s.issuerCorsOrigins,
    maxTtlSeconds: s.issuerMaxTtlSeconds,
    rateLimitPerMinute: s.issuerRateLimitPerMinute,
    allowAllRooms: s.issuerAllowAllRooms,
    oidc:
      s.issuerOidcIssuer && s.issuerOidcAudience && s.issuerOidcJwksUrl
        ? {
            issuer: s.issuerOidcIssuer,
            audience: s.issuerOidcAudience,
            jwksUrl: s.issuerOidcJwksUrl,
            moderatorGroup: s.issuerOidcModeratorGroup,
            algorithms: s.issuerOidcAlgorithms,
            nameClaim: s.issuerOidcNameClaim,
            emailClaim: s.issuerOidcEmailClaim,
            groupsClaim: s.issuerOidcGroupsClaim,
            rooms: s.issuerOidcRooms,
          }
        : undefined,
  };
}
