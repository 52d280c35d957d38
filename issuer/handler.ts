import type { JWTVerifyGetKey } from "jose";
import { addressKey } from "./address";
import { createAuthenticator, roomAllowed, type Caller } from "./auth";
import { buildRoomClaims, importHmacKey, meetingUrl, signRoomToken, type RoomUser } from "./claims";
import { bodyTooLarge, readCappedBody, readJson } from "./body";
import { type IssuerConfig, MAX_BODY_BYTES } from "./config";
import { badRequest, HttpError } from "./errors";
import { AUTH_FAILURES_PER_MINUTE, type FailureLimiter, failureLimiter, type RateLimiter } from "./rateLimit";
import { parseTokenRequest, type TokenRequest } from "./request";

/** The Web-standard handler: what the Worker exports. */
export type Handler = (request: Request) => Promise<Response>;

/** A request as the core sees it; the Web and Node adapters both produce one. */
export interface IssuerRequest {
  method: string;
  /** Path and query, like /v1/token. */
  url: string;
  /** A header's value; when it came more than once, all of them joined with ", ", as Fetch does. */
  header: (name: string) => string | null;
  /** The client's address as a rate-limit key (issuer/address.ts): failed sign-ins are counted per key. */
  client: string;
  /** The body, at most MAX_BODY_BYTES + 1 bytes: one byte over is enough to refuse it. */
  body: () => Promise<Uint8Array>;
}

export interface IssuerResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * The issuer, built once. The Node server calls `handle` directly, skipping Request/Response
 * objects; the Worker wraps it with `fetchHandler`, which the Node bundle then leaves out (the
 * bundle travels in the VM's user-data, which Hetzner caps at 32 KiB).
 */
export interface Issuer {
  handle: (request: IssuerRequest) => Promise<IssuerResponse>;
}

/** One structured log line. Never holds a token, key, secret or Authorization header. */
export interface LogEntry {
  event: "token_issued" | "request_refused" | "internal_error";
  method: string;
  path: string;
  status: number;
  code?: string;
  caller?: string;
  room?: string;
  moderator?: boolean;
  ttlSeconds?: number;
  ms: number;
}

export interface HandlerDeps {
  rateLimiter: RateLimiter;
  /** Failed sign-ins per client address; defaults to an in-memory one at AUTH_FAILURES_PER_MINUTE. */
  authFailures?: FailureLimiter;
  log?: (entry: LogEntry) => void;
  /** Seconds since the epoch; tests pin it. */
  now?: () => number;
  /** OIDC key set; defaults to the configured JWKS URL. */
  jwks?: JWTVerifyGetKey;
}

/** The routes and their methods; OPTIONS is answered on each, CORS preflights only where `cors` is set. */
const ROUTES = {
  "/v1/token": routeOf(["POST"], true),
  "/healthz": routeOf(["GET", "HEAD"], false),
};

/** A route's methods, and its Allow header, built once rather than per request. */
function routeOf(methods: string[], cors: boolean) {
  return { methods, cors, allow: [...methods, "OPTIONS"].join(", ") };
}

/**
 * Headers a request may carry once: two Authorization headers are ambiguous (a server that keeps the
 * first and one that keeps the last disagree). None of these may hold a comma (a bearer token, a
 * media type, an origin), so a comma means that repeats were joined (IssuerRequest.header).
 */
const SINGLE_HEADERS = ["authorization", "content-type", "origin"] as const;

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

const json = (status: number, body: unknown, headers: Record<string, string> = {}): IssuerResponse => ({
  status,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

/** The JSON answer to a refusal: `{ error: { code, message } }` with its status and headers. */
export const refusal = (err: HttpError): IssuerResponse =>
  json(err.status, { error: { code: err.code, message: err.message } }, err.headers);

/** Applies the caller's rights to a valid request: rooms, TTL cap, and for OIDC callers identity and moderator. */
function admit(
  caller: Caller,
  req: TokenRequest,
  config: IssuerConfig,
): { user: RoomUser; moderator: boolean; ttlSeconds: number } {
  if (req.room === "*" && !config.allowAllRooms) {
    throw new HttpError(
      403,
      "room_forbidden",
      'room "*" (every room) is turned off on this issuer; ask for one room',
    );
  }
  if (!roomAllowed(caller.rooms, req.room, config.allowAllRooms)) {
    throw new HttpError(403, "room_forbidden", `you may not ask for room '${req.room}'`);
  }
  const ttlSeconds = req.ttlSeconds ?? config.maxTtlSeconds;
  if (ttlSeconds > config.maxTtlSeconds) {
    throw badRequest(
      "ttl_too_long",
      `ttlSeconds must be at most ${config.maxTtlSeconds} (got ${ttlSeconds})`,
    );
  }
  if (caller.kind === "key") {
    if (!req.user) throw badRequest("missing_user", 'user is required, like {"name": "Ada"}');
    return { user: req.user, moderator: req.moderator, ttlSeconds };
  }
  // OIDC callers are end users: identity comes from the ID token, moderator only from the group claim.
  if (req.moderator && !caller.isModerator) {
    throw new HttpError(
      403,
      "moderator_forbidden",
      "only members of the moderator group may ask for moderator",
    );
  }
  if (!caller.isModerator && Object.values(req.features ?? {}).some(Boolean)) {
    throw new HttpError(
      403,
      "features_forbidden",
      "only members of the moderator group may turn features on",
    );
  }
  const name = caller.user?.name || req.user?.name;
  if (!name) throw badRequest("missing_user", 'the ID token has no name claim; send user: {"name": "..."}');
  const user = { ...caller.user, name, avatar: req.user?.avatar };
  return { user, moderator: req.moderator, ttlSeconds };
}

/** Builds the issuer once: the signing key is imported here, never per request. */
export async function createIssuer(config: IssuerConfig, deps: HandlerDeps): Promise<Issuer> {
  const key = await importHmacKey(config.secret);
  const authenticate = await createAuthenticator(config, deps.jwks);
  const log = deps.log ?? ((entry: LogEntry) => console.log(JSON.stringify(entry)));
  const now = deps.now ?? (() => Date.now() / 1000);
  const origins = new Set(config.corsOrigins);
  // Host mode serves the issuer at https://<domain>/token/: the meeting site's own pages are same-origin.
  const siteOrigin = `https://${config.domain}`;
  const authFailures = deps.authFailures ?? failureLimiter(AUTH_FAILURES_PER_MINUTE);

  /** Checks the credentials; a refused one counts against the client's address, a good one never does. */
  async function signIn(request: IssuerRequest): Promise<Caller> {
    // Checked before the credentials, so a blocked address learns nothing from further guesses.
    if (authFailures.blocked(request.client)) {
      throw new HttpError(
        429,
        "auth_rate_limited",
        `too many failed sign-ins from your address (over ${AUTH_FAILURES_PER_MINUTE} a minute); wait a minute`,
        { "retry-after": "60" },
      );
    }
    try {
      // An API key's caller comes without a promise (see Authenticate): awaiting it costs one tick.
      return await authenticate(request.header("authorization"));
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) authFailures.recordFailure(request.client);
      throw err;
    }
  }

  async function issue(request: IssuerRequest, entry: Partial<LogEntry>): Promise<IssuerResponse> {
    const caller = await signIn(request);
    entry.caller = caller.id;
    // The in-memory limit answers without a promise; the Worker's binding with one.
    if (!(await deps.rateLimiter(caller.id))) {
      throw new HttpError(429, "rate_limited", "too many token requests; wait a minute", {
        "retry-after": "60",
      });
    }
    const req = parseTokenRequest(await readJson(request.header("content-type"), request.body));
    entry.room = req.room;
    const { user, moderator, ttlSeconds } = admit(caller, req, config);
    const claims = buildRoomClaims(
      { appId: config.appId },
      { room: req.room, user, moderator, ttlSeconds, features: req.features },
      now(),
    );
    const token = await signRoomToken(key, claims);
    entry.moderator = moderator;
    entry.ttlSeconds = ttlSeconds;
    return json(200, {
      token,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      url: meetingUrl(config.domain, claims.room, token),
    });
  }

  /**
   * Answers a request by its route. Not async: it throws its refusals, and hands on the promise of
   * `issue` rather than wrapping it in one more (a promise hop per request on the Node server).
   */
  function route(
    request: IssuerRequest,
    path: string,
    origin: string | null,
    cors: Record<string, string>,
    entry: Partial<LogEntry>,
  ): IssuerResponse | Promise<IssuerResponse> {
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path as keyof typeof ROUTES] : undefined;
    if (!route) throw new HttpError(404, "not_found", "no such route; use POST /v1/token");
    if (origin && !origins.has(origin) && origin !== siteOrigin) {
      throw new HttpError(403, "origin_forbidden", `origin ${origin} is not allowed to call this issuer`);
    }
    const { allow } = route;
    if (request.method === "OPTIONS") {
      const preflight = route.cors && cors["access-control-allow-origin"];
      return {
        status: 204,
        body: null,
        headers: preflight
          ? {
              ...cors,
              "access-control-allow-methods": allow,
              "access-control-allow-headers": "authorization, content-type",
              "access-control-max-age": "600",
            }
          : { ...cors, allow },
      };
    }
    if (!route.methods.includes(request.method)) {
      throw new HttpError(405, "method_not_allowed", `use ${route.methods[0]} ${path}`, { allow });
    }
    if (path === "/healthz") return json(200, { ok: true });
    // Refused before sign-in, as the body will never be read: the Node server can close at once.
    if (Number(request.header("content-length") ?? 0) > MAX_BODY_BYTES) throw bodyTooLarge();
    return issue(request, entry);
  }

  async function handle(request: IssuerRequest): Promise<IssuerResponse> {
    const started = Date.now();
    // Behind the VM's nginx the issuer lives under /token/; the Worker serves it at the root.
    const { url } = request;
    const path = url === "/v1/token" ? url : url.replace(/[?#].*$/, "").replace(/^\/token(?=\/)/, "");
    const entry: Partial<LogEntry> = { method: request.method, path };
    const origin = request.header("origin");
    const cors: Record<string, string> =
      origin && origins.has(origin) ? { "access-control-allow-origin": origin, vary: "Origin" } : {};
    let response: IssuerResponse;
    try {
      const repeated = SINGLE_HEADERS.find((name) => request.header(name)?.includes(","));
      if (repeated) {
        throw badRequest(
          "duplicate_header",
          `send the ${repeated} header once (it came several times, or held a comma)`,
        );
      }
      response = await route(request, path, origin, cors, entry);
    } catch (err) {
      if (!(err instanceof HttpError)) {
        log(
          Object.assign(entry, {
            event: "internal_error",
            status: 500,
            code: (err as Error)?.name,
            ms: Date.now() - started,
          }) as LogEntry,
        );
        return json(500, { error: { code: "internal", message: "the issuer failed; see its logs" } }, cors);
      }
      entry.code = err.code;
      response = refusal(err);
    }
    Object.assign(response.headers, cors);
    if (response.status >= 400 || path === "/v1/token") {
      // Completed in place: `{ ...entry, event, ... }` takes V8 microseconds per request.
      entry.event = response.status < 400 ? "token_issued" : "request_refused";
      entry.status = response.status;
      entry.ms = Date.now() - started;
      log(entry as LogEntry);
    }
    return response;
  }

  return { handle };
}

/** The Web-standard entry, `(Request) => Promise<Response>`: adapts Request/Response to the core. */
export function fetchHandler({ handle }: Issuer): Handler {
  return async (request) => {
    const url = new URL(request.url);
    const out = await handle({
      method: request.method,
      url: url.pathname + url.search,
      header: (name) => request.headers.get(name),
      // Cloudflare sets CF-Connecting-IP itself on every request that reaches a Worker.
      client: addressKey(request.headers.get("cf-connecting-ip")) ?? "unknown",
      body: () => readCappedBody(request),
    });
    return new Response(out.body, { status: out.status, headers: out.headers });
  };
}

/** The Worker's handler: the issuer behind `fetchHandler`. */
export async function createHandler(config: IssuerConfig, deps: HandlerDeps): Promise<Handler> {
  return fetchHandler(await createIssuer(config, deps));
}
