import { JITSI_FEATURES, type RoomUser } from "./claims";
import { ROOM_NAME_RE } from "./config";
import { badRequest } from "./errors";
import { readUserField, type UserField } from "./userFields";

/** A validated `POST /v1/token` body. `user` is optional here: OIDC callers get theirs from the ID token. */
export interface TokenRequest {
  room: string;
  user?: RoomUser;
  moderator: boolean;
  ttlSeconds?: number;
  features?: Record<string, boolean>;
}

const TOP_KEYS = ["room", "user", "moderator", "ttlSeconds", "features"];
const USER_KEYS: UserField[] = ["id", "name", "email", "avatar"];
const FEATURES: ReadonlySet<string> = new Set(JITSI_FEATURES);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw badRequest(
      "unknown_field",
      `${where} has unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}; allowed: ${allowed.join(", ")}`,
    );
  }
}

/** The body's `user`, under the same field rules as an OIDC caller's identity (issuer/userFields.ts). */
function parseUser(raw: unknown): RoomUser {
  if (!isObject(raw)) throw badRequest("invalid_user", 'user must be an object like {"name": "Ada"}');
  unknownKeys(raw, USER_KEYS, "user");
  if (raw.name === undefined) {
    throw badRequest("invalid_user", "user.name is required: the name others see");
  }
  const optional = (field: UserField) =>
    raw[field] === undefined ? undefined : readUserField(field, raw[field], `user.${field}`);
  return {
    id: optional("id"),
    name: readUserField("name", raw.name, "user.name"),
    email: optional("email"),
    avatar: optional("avatar"),
  };
}

/**
 * Checks one Jitsi room name and lower-cases it, as Prosody compares it; `*` passes here and is
 * checked against the caller later. Only ASCII letters are accepted, so lower-casing cannot turn a
 * look-alike (Kelvin sign, dotted capital I) into another room's name.
 */
export function parseRoom(raw: unknown): string {
  if (raw === undefined) throw badRequest("missing_room", 'room is required, like {"room": "standup"}');
  if (typeof raw !== "string") throw badRequest("invalid_room", "room must be a string");
  if (raw === "*") return raw;
  if (!ROOM_NAME_RE.test(raw)) {
    throw badRequest(
      "invalid_room",
      "room must be 1-128 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit (one room, no path)",
    );
  }
  return raw.toLowerCase();
}

function parseFeatures(raw: unknown): Record<string, boolean> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw))
    throw badRequest("invalid_features", 'features must be an object like {"recording": true}');
  const unknown = Object.keys(raw).filter((k) => !FEATURES.has(k));
  if (unknown.length > 0) {
    throw badRequest(
      "unknown_feature",
      `features has key(s) Jitsi does not know: ${unknown.map((k) => JSON.stringify(k)).join(", ")}; known: ${JITSI_FEATURES.join(", ")}`,
    );
  }
  const notBool = Object.keys(raw).filter((k) => typeof raw[k] !== "boolean");
  if (notBool.length > 0) {
    throw badRequest(
      "invalid_features",
      `features values must be true or false (not so for ${notBool.join(", ")})`,
    );
  }
  return raw as Record<string, boolean>;
}

/** Validates the parsed JSON body against the API; TTL bounds are checked by the handler, which knows the cap. */
export function parseTokenRequest(body: unknown): TokenRequest {
  if (!isObject(body))
    throw badRequest("invalid_body", 'the body must be a JSON object like {"room": "standup"}');
  unknownKeys(body, TOP_KEYS, "the body");
  const room = parseRoom(body.room);
  const user = body.user === undefined ? undefined : parseUser(body.user);
  if (body.moderator !== undefined && typeof body.moderator !== "boolean") {
    throw badRequest("invalid_moderator", "moderator must be true or false");
  }
  const ttl = body.ttlSeconds;
  if (ttl !== undefined && (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 60)) {
    throw badRequest("invalid_ttl", "ttlSeconds must be a whole number of seconds, at least 60");
  }
  return {
    room,
    user,
    moderator: body.moderator === true,
    ttlSeconds: ttl as number | undefined,
    features: parseFeatures(body.features),
  };
}
