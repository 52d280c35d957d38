// Imported by subpath, so the bundle carries only the error classes used (the Worker has a size budget).
import {
  JOSEAlgNotAllowed,
  JOSEError,
  JWKSMultipleMatchingKeys,
  JWKSNoMatchingKey,
  JWTClaimValidationFailed,
  JWTExpired,
} from "jose/errors";
import { createRemoteJWKSet } from "jose/jwks/remote";
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import { jwtVerify } from "jose/jwt/verify";
import { keyWords, type KnownKey, matchApiKey } from "./apiKeys";
import type { RoomUser } from "./claims";
import type { IssuerConfig, OidcConfig } from "./config";
import { HttpError } from "./errors";
import { readUserField } from "./userFields";

/** Who asked: an app backend holding an API key, or a user holding an OIDC ID token. */
export interface Caller {
  kind: "key" | "oidc";
  /** Stable, non-secret id for logs and rate limiting: a key fingerprint, or issuer + subject. */
  id: string;
  /** Room policy: exact names, prefixes ending in `*`, or `*` for any room. */
  rooms: string[];
  /** OIDC only: identity from the ID token, and whether the caller is in the moderator group. */
  user?: RoomUser;
  isModerator?: boolean;
}

const unauthorized = (code: string, message: string): HttpError =>
  new HttpError(401, code, message, { "www-authenticate": 'Bearer realm="jitsi-token-issuer"' });

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * A name or email claim under the same field rules as the body's `user` (issuer/userFields.ts):
 * absent when missing, null or blank; a 400 naming the claim when it breaks a rule.
 */
function identityClaim(payload: JWTPayload, claim: string, field: "name" | "email"): string | undefined {
  const value = payload[claim];
  if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) {
    return undefined;
  }
  return readUserField(field, value, `the ID token's '${claim}' claim`);
}

/**
 * Key lookup that tells the provider's failures (non-200, not JSON, not a key set, timeout, network)
 * apart from the token's: only "no key / several keys match this token" stays the caller's fault.
 * jose passes what the lookup throws through jwtVerify unchanged.
 */
function guardKeySet(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (err) {
      if (err instanceof JWKSNoMatchingKey || err instanceof JWKSMultipleMatchingKeys) throw err;
      throw new HttpError(
        503,
        "oidc_unavailable",
        "the identity provider's keys could not be fetched; try again",
      );
    }
  };
}

/** OpenID Connect Core 2: `sub` is at most 255 ASCII characters. It becomes the user's id and the log's caller. */
const SUBJECT_RE = /^[\x21-\x7e]{1,255}$/;

/**
 * jose's requiredClaims checks presence only. `sub` must be 1 to 255 printable ASCII characters,
 * and a token for several audiences must name this one as its authorized party (OpenID Connect
 * Core 3.1.3.7).
 */
function checkIdentityClaims(payload: JWTPayload, audience: string): string {
  if (typeof payload.sub !== "string" || !SUBJECT_RE.test(payload.sub)) {
    throw unauthorized(
      "invalid_token",
      "the bearer ID token's 'sub' claim must be 1 to 255 printable ASCII characters",
    );
  }
  if (Array.isArray(payload.aud) && payload.azp !== audience) {
    throw unauthorized(
      "invalid_token",
      `the bearer ID token names several audiences, so its 'azp' claim must be '${audience}'`,
    );
  }
  return payload.sub;
}

function groupsOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string");
  return typeof value === "string" ? value.split(/[\s,]+/) : [];
}

/** Why jose refused an ID token, in words the caller can act on. */
function oidcRefusal(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof JWTExpired) return unauthorized("token_expired", "the bearer ID token has expired");
  if (err instanceof JWTClaimValidationFailed) {
    return unauthorized(
      "invalid_token",
      `the bearer ID token's '${err.claim}' claim is not accepted (${err.reason})`,
    );
  }
  if (err instanceof JOSEAlgNotAllowed) {
    return unauthorized("invalid_token", "the bearer ID token uses an algorithm this issuer does not accept");
  }
  if (err instanceof JOSEError) {
    return unauthorized(
      "invalid_token",
      "the bearer ID token is not valid (bad signature, unknown key or malformed)",
    );
  }
  throw err;
}

/**
 * Checks an Authorization header. An API key is answered at once, without a promise: it is the
 * common case, and each promise hop costs the Node server time per request. Only an ID token,
 * whose check may fetch the provider's keys, gives a promise. Refusals of the former are thrown,
 * of the latter rejected.
 */
export type Authenticate = (authorization: string | null) => Caller | Promise<Caller>;

/** Builds the caller check once: key digests are computed and the JWKS set is created up front. */
export async function createAuthenticator(
  config: Pick<IssuerConfig, "apiKeys" | "oidc">,
  jwks?: JWTVerifyGetKey,
): Promise<Authenticate> {
  const encode = keyWords(config.apiKeys);
  const known: KnownKey[] = await Promise.all(
    // Callers are named in logs by a fingerprint of their key, never by the key.
    config.apiKeys.map(async (k) => ({
      words: encode(k)!,
      id: `key:${hex((await sha256(k)).subarray(0, 6))}`,
    })),
  );
  const oidc: OidcConfig | undefined = config.oidc;
  const getKey = oidc ? guardKeySet(jwks ?? createRemoteJWKSet(new URL(oidc.jwksUrl))) : undefined;

  function byApiKey(presented: string): Caller | undefined {
    const words = encode(presented);
    const match = words && matchApiKey(words, known);
    return match ? { kind: "key", id: match, rooms: ["*"] } : undefined;
  }

  async function byIdToken(token: string, cfg: OidcConfig, keys: JWTVerifyGetKey): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      throw oidcRefusal(err);
    }
    const sub = checkIdentityClaims(payload, cfg.audience);
    const name = identityClaim(payload, cfg.nameClaim, "name");
    const email = identityClaim(payload, cfg.emailClaim, "email");
    return {
      kind: "oidc",
      id: `oidc:${sub}`,
      rooms: cfg.rooms,
      user: { id: sub, name: name ?? "", email },
      isModerator:
        cfg.moderatorGroup !== undefined && groupsOf(payload, cfg.groupsClaim).includes(cfg.moderatorGroup),
    };
  }

  return (authorization) => {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization ?? "");
    if (!match) {
      throw unauthorized(
        "missing_credentials",
        "send an API key or an OIDC ID token as 'Authorization: Bearer <token>'",
      );
    }
    const presented = match[1]!;
    const keyCaller = byApiKey(presented);
    if (keyCaller) return keyCaller;
    if (oidc && getKey && presented.split(".").length === 3) return byIdToken(presented, oidc, getKey);
    throw unauthorized("invalid_credentials", "the bearer token is not a valid API key or ID token");
  };
}

/** Whether a room policy lets a caller ask for a room; `*` (every room) also needs the stack to allow it. */
export function roomAllowed(patterns: string[], room: string, allowAllRooms: boolean): boolean {
  if (room === "*") return allowAllRooms && patterns.includes("*");
  return patterns.some(
    (p) => p === "*" || p === room || (p.endsWith("*") && room.startsWith(p.slice(0, -1))),
  );
}
