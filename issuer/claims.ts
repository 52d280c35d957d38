import { CompactSign } from "jose/jws/compact/sign";
import { ROOM_NAME_RE } from "./config";

/**
 * Token claims exactly as Prosody's token/util.lib.lua (luajwtjitsi) and the Jitsi web client accept
 * them. Pure functions: the handler, `npm run token` and the verify script share them.
 */

/** Prosody's default `sub` check accepts `*` or the internal XMPP domain of docker-jitsi-meet. */
export const DEFAULT_SUBJECT = "meet.jitsi";
/** Prosody allows no clock skew, so `nbf` sits this far in the past (the seed guide's now - 30 s). */
export const NBF_SKEW_SECONDS = 30;

/** Jitsi's fixed list of JWT features (jitsi-meet react/features/base/jwt/constants.ts, MEET_FEATURES). */
export const JITSI_FEATURES = [
  "branding",
  "calendar",
  "create-polls",
  "file-upload",
  "flip",
  "inbound-call",
  "list-visitors",
  "live-translation",
  "livestreaming",
  "lobby",
  "moderation",
  "outbound-call",
  "recording",
  "room",
  "screen-sharing",
  "send-groupchat",
  "send-private-message",
  "sip-inbound-call",
  "sip-outbound-call",
  "transcription",
] as const;

export interface RoomUser {
  id?: string;
  name: string;
  email?: string;
  avatar?: string;
}

export interface RoomRequest {
  room: string;
  user: RoomUser;
  moderator: boolean;
  ttlSeconds: number;
  features?: Record<string, boolean>;
}

export interface JitsiUserClaim {
  id?: string;
  name: string;
  email?: string;
  avatar?: string;
  moderator: boolean;
  /** Read by Prosody's token_affiliation module: owner for moderators, member otherwise. */
  affiliation: "owner" | "member";
}

export interface JitsiClaims {
  iss: string;
  /** A string, never an array: Prosody compares it as a string. */
  aud: string;
  sub: string;
  room: string;
  iat: number;
  nbf: number;
  exp: number;
  context: { user: JitsiUserClaim; features?: Record<string, boolean> };
}

export interface ClaimsConfig {
  appId: string;
  /** Defaults to appId (JWT_ACCEPTED_AUDIENCES is the app id). */
  audience?: string;
  /** Defaults to meet.jitsi. */
  subject?: string;
}

/** Imports the shared HS256 secret once; the raw UTF-8 bytes are the key, as Prosody uses them. */
export async function importHmacKey(secret: string): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Builds the claims of one room token. User fields that are absent are left out: a null breaks the client. */
export function buildRoomClaims(cfg: ClaimsConfig, req: RoomRequest, nowSeconds: number): JitsiClaims {
  if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive whole number (got ${String(req.ttlSeconds)})`);
  }
  if (req.room !== "*" && !ROOM_NAME_RE.test(req.room)) {
    // Lower-casing a look-alike such as the Kelvin sign would name another room ("\u212Aitchen" -> "kitchen").
    throw new RangeError(`room must be one ASCII room name or "*" (got ${JSON.stringify(req.room)})`);
  }
  if (typeof req.user?.name !== "string" || req.user.name.length === 0) {
    throw new TypeError("user.name must be a non-empty string");
  }
  const now = Math.floor(nowSeconds);
  const user: JitsiUserClaim = {
    ...(typeof req.user.id === "string" ? { id: req.user.id } : {}),
    name: req.user.name,
    ...(typeof req.user.email === "string" ? { email: req.user.email } : {}),
    ...(typeof req.user.avatar === "string" ? { avatar: req.user.avatar } : {}),
    moderator: req.moderator === true,
    affiliation: req.moderator === true ? "owner" : "member",
  };
  const features = req.features && Object.keys(req.features).length > 0 ? { ...req.features } : undefined;
  return {
    iss: cfg.appId,
    aud: cfg.audience ?? cfg.appId,
    sub: cfg.subject ?? DEFAULT_SUBJECT,
    // Prosody lower-cases the room before comparing it.
    room: req.room.toLowerCase(),
    iat: now,
    nbf: now - NBF_SKEW_SECONDS,
    exp: now + req.ttlSeconds,
    context: features ? { user, features } : { user },
  };
}

/**
 * Signs claims with HS256; Prosody refuses tokens without `typ: "JWT"` in the header. jose's
 * CompactSign over the claims' JSON is what its SignJWT does once it has checked a claims object;
 * buildRoomClaims has already shaped these, and SignJWT's claims builder would add about 1 KB to the
 * Worker bundle. test/issuer/claims.test.ts checks that both give the same token.
 */
export async function signRoomToken(key: CryptoKey, claims: JitsiClaims): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(key);
}

/**
 * The link that opens the room with the token. The token goes in the hash, so it stays out of
 * server logs and Referer headers; `*` (every room) links to the site's front page.
 */
export function meetingUrl(domain: string, room: string, token: string): string {
  const path = room === "*" ? "" : encodeURIComponent(room.toLowerCase());
  return `https://${domain}/${path}#jwt="${token}"`;
}
