import { HOSTNAME_RE } from "../config/hostname";

/**
 * The issuer's runtime settings, read from environment variables. The Node server reads
 * `process.env`, the Worker reads its bindings: both use these same names, so one parser serves both.
 */

/** A room as tokens carry it: lower-case ASCII, as Prosody compares it. */
export const ROOM_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/**
 * A room as callers may write it: ASCII in any case, lower-cased later. Spelled out instead of an
 * `i` flag: with the `u` flag, case-insensitive matching folds the Kelvin sign (U+212A) to `k`.
 */
export const ROOM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Asymmetric algorithms only: an HMAC or `none` entry would let a public key (or nothing) sign ID tokens. */
export const OIDC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
export const DEFAULT_OIDC_ALGORITHMS: Array<(typeof OIDC_ALGORITHMS)[number]> = ["RS256", "ES256"];
export const MAX_BODY_BYTES = 8 * 1024;

export interface OidcConfig {
  issuer: string;
  audience: string;
  jwksUrl: string;
  algorithms: string[];
  nameClaim: string;
  emailClaim: string;
  groupsClaim: string;
  moderatorGroup?: string;
  /** Rooms OIDC callers may ask for: exact names, or prefixes ending in `*` (`*` alone: any room). */
  rooms: string[];
}

export interface IssuerConfig {
  appId: string;
  secret: string;
  domain: string;
  apiKeys: string[];
  maxTtlSeconds: number;
  rateLimitPerMinute: number;
  allowAllRooms: boolean;
  corsOrigins: string[];
  oidc?: OidcConfig;
}

/**
 * The environment variables the issuer reads (the Worker as bindings, the Node server from its
 * environment). docs/issuer.md documents each; test/issuer/readme.test.ts holds it to this list.
 */
export const ENV_NAMES = [
  "JWT_APP_ID",
  "JWT_APP_SECRET",
  "JITSI_DOMAIN",
  "ISSUER_API_KEYS",
  "ISSUER_MAX_TTL_SECONDS",
  "ISSUER_RATE_LIMIT_PER_MINUTE",
  "ISSUER_ALLOW_ALL_ROOMS",
  "ISSUER_CORS_ORIGINS",
  "ISSUER_OIDC_ISSUER",
  "ISSUER_OIDC_AUDIENCE",
  "ISSUER_OIDC_JWKS_URL",
  "ISSUER_OIDC_ALGORITHMS",
  "ISSUER_OIDC_NAME_CLAIM",
  "ISSUER_OIDC_EMAIL_CLAIM",
  "ISSUER_OIDC_GROUPS_CLAIM",
  "ISSUER_OIDC_MODERATOR_GROUP",
  "ISSUER_OIDC_ROOMS",
  "PORT",
  "HOST",
  "ISSUER_WORKERS",
] as const;

export type EnvName = (typeof ENV_NAMES)[number];
export type IssuerEnv = Partial<Record<EnvName, string>>;

export class IssuerConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem fits on one line; several are listed one per line.
    super(
      problems.length === 1
        ? `The token issuer's settings are invalid: ${problems[0]}`
        : `The token issuer's settings are invalid:\n  - ${problems.join("\n  - ")}`,
    );
    this.name = "IssuerConfigError";
  }
}

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const isLoopback = (host: string): boolean => ["127.0.0.1", "localhost", "[::1]"].includes(host);

/** Parses and validates the issuer's environment; every problem is reported at once, never a secret value. */
export function configFromEnv(env: IssuerEnv): IssuerConfig {
  const problems: string[] = [];
  const need = (name: EnvName): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set (see the README)`);
    return value ?? "";
  };
  const int = (name: EnvName, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
    }
    return n;
  };
  const url = (name: EnvName): string => {
    const raw = need(name);
    if (!raw) return raw;
    try {
      const u = new URL(raw);
      if (u.protocol !== "https:" && !(u.protocol === "http:" && isLoopback(u.hostname))) throw new Error();
    } catch {
      problems.push(`${name} must be an https URL like https://login.example.com/ (got '${raw}')`);
    }
    return raw;
  };

  const appId = need("JWT_APP_ID");
  const secret = env.JWT_APP_SECRET ?? "";
  if (!secret) problems.push("JWT_APP_SECRET is not set: the HS256 secret shared with Prosody");
  else if (new TextEncoder().encode(secret).length < 32) {
    problems.push("JWT_APP_SECRET must be at least 32 bytes; generate one with: openssl rand -hex 32");
  }
  const domain = need("JITSI_DOMAIN");
  // Tokens carry https://<domain>/<room>: a scheme, port or path here would make every link wrong.
  if (domain && !HOSTNAME_RE.test(domain)) {
    problems.push(
      `JITSI_DOMAIN must be the meeting's hostname like meet.example.com, without scheme, port or path (got '${domain}')`,
    );
  }
  const apiKeys = list(env.ISSUER_API_KEYS);
  apiKeys.forEach((k, i) => {
    if (k.length < 32) {
      problems.push(
        `ISSUER_API_KEYS item ${i + 1} is ${k.length} characters; keys need at least 32 (openssl rand -hex 32)`,
      );
    }
  });
  const corsOrigins = list(env.ISSUER_CORS_ORIGINS);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      problems.push(
        `ISSUER_CORS_ORIGINS holds '${origin}'; origins look like https://app.example.com (no path)`,
      );
    }
  }
  const allowAll = env.ISSUER_ALLOW_ALL_ROOMS?.trim() ?? "false";
  if (!["true", "false"].includes(allowAll)) {
    problems.push(`ISSUER_ALLOW_ALL_ROOMS must be true or false (got '${allowAll}')`);
  }

  const oidcNames = ["ISSUER_OIDC_ISSUER", "ISSUER_OIDC_AUDIENCE", "ISSUER_OIDC_JWKS_URL"] as const;
  const oidcSet = oidcNames.filter((n) => env[n]?.trim());
  let oidc: OidcConfig | undefined;
  if (oidcSet.length > 0) {
    const algorithms = env.ISSUER_OIDC_ALGORITHMS
      ? list(env.ISSUER_OIDC_ALGORITHMS)
      : DEFAULT_OIDC_ALGORITHMS;
    for (const alg of algorithms) {
      if (!(OIDC_ALGORITHMS as readonly string[]).includes(alg)) {
        problems.push(
          `ISSUER_OIDC_ALGORITHMS holds '${alg}'; use asymmetric ones: ${OIDC_ALGORITHMS.join(", ")}`,
        );
      }
    }
    const rooms = env.ISSUER_OIDC_ROOMS ? list(env.ISSUER_OIDC_ROOMS) : ["*"];
    for (const pattern of rooms) {
      if (pattern !== "*" && !ROOM_RE.test(pattern.replace(/\*$/, "") || "x")) {
        problems.push(`ISSUER_OIDC_ROOMS holds '${pattern}'; use room names or prefixes like team-*`);
      }
    }
    oidc = {
      issuer: url("ISSUER_OIDC_ISSUER"),
      audience: need("ISSUER_OIDC_AUDIENCE"),
      jwksUrl: url("ISSUER_OIDC_JWKS_URL"),
      algorithms,
      nameClaim: env.ISSUER_OIDC_NAME_CLAIM?.trim() || "name",
      emailClaim: env.ISSUER_OIDC_EMAIL_CLAIM?.trim() || "email",
      groupsClaim: env.ISSUER_OIDC_GROUPS_CLAIM?.trim() || "groups",
      moderatorGroup: env.ISSUER_OIDC_MODERATOR_GROUP?.trim() || undefined,
      rooms,
    };
  }
  if (apiKeys.length === 0 && !oidc) {
    problems.push("no caller can be admitted: set ISSUER_API_KEYS, or the ISSUER_OIDC_* settings, or both");
  }
  const config: IssuerConfig = {
    appId,
    secret,
    domain,
    apiKeys,
    maxTtlSeconds: int("ISSUER_MAX_TTL_SECONDS", 3600, 60, 86400),
    rateLimitPerMinute: int("ISSUER_RATE_LIMIT_PER_MINUTE", 60, 1, 10000),
    allowAllRooms: allowAll === "true",
    corsOrigins,
    oidc,
  };
  if (problems.length > 0) throw new IssuerConfigError(problems);
  return config;
}
