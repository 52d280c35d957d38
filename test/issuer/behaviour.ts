import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssuerEnv } from "../../issuer/config";
import { AUTH_FAILURES_PER_MINUTE } from "../../issuer/rateLimit";
import { startProvider, type TestProvider } from "./oidc";
import { type CallInit, request } from "./client";
import { checkWithPyJwt } from "./pyjwt";
import type { RunningIssuer, StartIssuer } from "./targets";

export const APP_ID = "jitsi-stack";
export const DOMAIN = "meet.example.com";
export const ORIGIN = "https://app.example.com";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A bad request and the refusal it must get. */
export interface BadCase {
  name: string;
  status: number;
  code: string;
  request: () => Promise<CallInit>;
}

/**
 * The issuer's behaviour, run unchanged against every deployment form (Node server, Worker in
 * workerd). Tokens are checked by PyJWT the way Prosody checks them, not by the code that made them.
 */
/** Polls `ready` (every 25 ms, up to 10 s): for effects that follow an answer, such as log lines. */
export async function waitFor(ready: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function issuerBehaviour(label: string, start: StartIssuer): void {
  const secret = randomBytes(32).toString("hex");
  const keyA = randomBytes(32).toString("hex");
  const keyB = randomBytes(32).toString("hex");
  const revokedKey = randomBytes(32).toString("hex");
  let idp: TestProvider;
  let issuer: RunningIssuer;
  let strict: RunningIssuer;

  const baseEnv = (): IssuerEnv => ({
    JWT_APP_ID: APP_ID,
    JWT_APP_SECRET: secret,
    JITSI_DOMAIN: DOMAIN,
    ISSUER_MAX_TTL_SECONDS: "600",
    ISSUER_CORS_ORIGINS: ORIGIN,
  });

  beforeAll(async () => {
    idp = await startProvider();
    [issuer, strict] = await Promise.all([
      start({
        ...baseEnv(),
        ISSUER_API_KEYS: `${keyA},${keyB}`,
        ISSUER_RATE_LIMIT_PER_MINUTE: "1000",
        ISSUER_ALLOW_ALL_ROOMS: "true",
        ISSUER_OIDC_ISSUER: idp.issuer,
        ISSUER_OIDC_AUDIENCE: idp.audience,
        ISSUER_OIDC_JWKS_URL: idp.jwksUrl,
        ISSUER_OIDC_MODERATOR_GROUP: "hosts",
        ISSUER_OIDC_ROOMS: "team-*,town-hall",
      }),
      start({ ...baseEnv(), ISSUER_API_KEYS: keyA, ISSUER_RATE_LIMIT_PER_MINUTE: "3" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([issuer?.stop(), strict?.stop(), idp?.close()]);
  });

  const post = (body: unknown, bearer: string | undefined, extra: Record<string, string> = {}): CallInit => ({
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...extra,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const call = async (target: RunningIssuer, init: CallInit) => {
    const res = await request(`${target.baseUrl}${init.path ?? "/v1/token"}`, init);
    const text = await res.text();
    return { res, text, body: (text ? JSON.parse(text) : undefined) as Json };
  };
  const mint = async (body: unknown, bearer = keyA) => {
    const { res, body: json } = await call(issuer, post(body, bearer));
    expect(res.status, JSON.stringify(json)).toBe(200);
    const checked = await checkWithPyJwt(APP_ID, secret, json.token);
    expect(checked.reason).toBe("");
    return { json, claims: checked.claims!, header: checked.header! };
  };

  describe(`token issuer (${label})`, () => {
    it("answers health checks", async () => {
      const { res, body } = await call(issuer, { method: "GET", path: "/healthz" });
      expect(res.status).toBe(200);
      expect(body).toEqual({ ok: true });
    });

    it("gives an API-key caller a token that Prosody's checks accept, with the room lower-cased", async () => {
      const before = Math.floor(Date.now() / 1000);
      const { json, claims, header } = await mint({
        room: "Daily-Standup",
        user: {
          id: "u1",
          name: "Ada Lovelace",
          email: "ada@example.com",
          avatar: "https://example.com/a.png",
        },
        ttlSeconds: 300,
        features: { recording: true, "screen-sharing": false },
      });
      expect(header).toEqual({ alg: "HS256", typ: "JWT" });
      expect(claims).toMatchObject({ iss: APP_ID, aud: APP_ID, sub: "meet.jitsi", room: "daily-standup" });
      expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
      expect(claims.exp).toBe((claims.iat as number) + 300);
      expect(claims.nbf).toBe((claims.iat as number) - 30);
      expect(claims.context).toEqual({
        user: {
          id: "u1",
          name: "Ada Lovelace",
          email: "ada@example.com",
          avatar: "https://example.com/a.png",
          moderator: false,
          affiliation: "member",
        },
        features: { recording: true, "screen-sharing": false },
      });
      expect(json.expiresAt).toBe(new Date((claims.exp as number) * 1000).toISOString());
      expect(json.url).toBe(`https://${DOMAIN}/daily-standup#jwt="${json.token}"`);
    });

    it("leaves absent user fields out instead of sending nulls, and caps the TTL at the setting by default", async () => {
      const { claims } = await mint({ room: "r1", user: { name: "Bob" }, moderator: true });
      expect(claims.context.user).toEqual({ name: "Bob", moderator: true, affiliation: "owner" });
      expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    });

    it("accepts every configured API key, so keys can be rotated", async () => {
      const { claims } = await mint({ room: "rotation", user: { name: "Cy" } }, keyB);
      expect(claims.room).toBe("rotation");
    });

    it('gives room "*" only to callers allowed every room', async () => {
      const { claims, json } = await mint({ room: "*", user: { name: "Ops" } });
      expect(claims.room).toBe("*");
      expect(json.url).toBe(`https://${DOMAIN}/#jwt="${json.token}"`);
    });

    it("takes an OIDC caller's identity from the ID token and moderator only from the group claim", async () => {
      const member = await mint({ room: "team-blue" }, await idp.idToken());
      expect(member.claims.context.user).toEqual({
        id: "user-42",
        name: "Grace Hopper",
        email: "grace@example.com",
        moderator: false,
        affiliation: "member",
      });
      const host = await mint(
        { room: "Town-Hall", moderator: true, features: { recording: true } },
        await idp.idToken({ groups: ["staff", "hosts"] }),
      );
      expect(host.claims.room).toBe("town-hall");
      expect(host.claims.context.user.moderator).toBe(true);
      expect(host.claims.context.features).toEqual({ recording: true });
    });

    it("trims the ID token's name, and takes the request's name when the token's is blank", async () => {
      const trimmed = await mint({ room: "team-trim" }, await idp.idToken({ name: "  Grace Hopper \t" }));
      expect(trimmed.claims.context.user.name).toBe("Grace Hopper");
      const blank = await mint(
        { room: "team-blank", user: { name: "Guest" } },
        await idp.idToken({ name: "   " }),
      );
      expect(blank.claims.context.user).toMatchObject({ id: "user-42", name: "Guest" });
    });

    it("accepts an ID token for several audiences when azp names this issuer's audience", async () => {
      const { claims } = await mint(
        { room: "team-azp" },
        await idp.idToken({ aud: [idp.audience, "other-app"], azp: idp.audience }),
      );
      expect(claims.context.user.id).toBe("user-42");
    });

    it("answers a CORS preflight from an allowed origin and labels its responses", async () => {
      const pre = await call(issuer, {
        method: "OPTIONS",
        headers: { origin: ORIGIN, "access-control-request-method": "POST" },
      });
      expect(pre.res.status).toBe(204);
      expect(pre.res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(pre.res.headers.get("access-control-allow-headers")).toContain("authorization");
      const { res } = await call(
        issuer,
        post({ room: "cors", user: { name: "Dee" } }, keyA, { origin: ORIGIN }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    });

    it("accepts a same-origin call from the meeting site (host mode behind nginx) without CORS headers", async () => {
      const { res, body } = await call(
        issuer,
        post({ room: "same-origin", user: { name: "Fay" } }, keyA, { origin: `https://${DOMAIN}` }),
      );
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });

    const big = JSON.stringify({ room: "big", user: { name: "x".repeat(9000) } });
    const bad: BadCase[] = [
      { name: "malformed JSON", status: 400, code: "invalid_json", request: async () => post("{", keyA) },
      {
        name: "truncated JSON",
        status: 400,
        code: "invalid_json",
        request: async () => post('{"room": "a"', keyA),
      },
      {
        name: "body that is not UTF-8",
        status: 400,
        code: "invalid_json",
        request: async () => ({ ...post("", keyA), body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }),
      },
      { name: "JSON array body", status: 400, code: "invalid_body", request: async () => post("[]", keyA) },
      { name: "JSON null body", status: 400, code: "invalid_body", request: async () => post("null", keyA) },
      { name: "empty body", status: 400, code: "invalid_json", request: async () => post("", keyA) },
      { name: "oversized body", status: 413, code: "body_too_large", request: async () => post(big, keyA) },
      {
        name: "text/plain content type",
        status: 415,
        code: "unsupported_media_type",
        request: async () => post({ room: "a", user: { name: "x" } }, keyA, { "content-type": "text/plain" }),
      },
      {
        name: "form content type",
        status: 415,
        code: "unsupported_media_type",
        request: async () => post("room=a", keyA, { "content-type": "application/x-www-form-urlencoded" }),
      },
      {
        name: "missing room",
        status: 400,
        code: "missing_room",
        request: async () => post({ user: { name: "x" } }, keyA),
      },
      {
        name: "room not a string",
        status: 400,
        code: "invalid_room",
        request: async () => post({ room: 7, user: { name: "x" } }, keyA),
      },
      {
        name: "empty room",
        status: 400,
        code: "invalid_room",
        request: async () => post({ room: "", user: { name: "x" } }, keyA),
      },
      {
        name: "room with a path",
        status: 400,
        code: "invalid_room",
        request: async () => post({ room: "a/b", user: { name: "x" } }, keyA),
      },
      {
        name: "room with a space",
        status: 400,
        code: "invalid_room",
        request: async () => post({ room: "a b", user: { name: "x" } }, keyA),
      },
      {
        name: "room of 129 characters",
        status: 400,
        code: "invalid_room",
        request: async () => post({ room: "r".repeat(129), user: { name: "x" } }, keyA),
      },
      {
        name: "TTL over the cap",
        status: 400,
        code: "ttl_too_long",
        request: async () => post({ room: "a", user: { name: "x" }, ttlSeconds: 601 }, keyA),
      },
      {
        name: "TTL under a minute",
        status: 400,
        code: "invalid_ttl",
        request: async () => post({ room: "a", user: { name: "x" }, ttlSeconds: 59 }, keyA),
      },
      {
        name: "TTL as a string",
        status: 400,
        code: "invalid_ttl",
        request: async () => post({ room: "a", user: { name: "x" }, ttlSeconds: "300" }, keyA),
      },
      {
        name: "fractional TTL",
        status: 400,
        code: "invalid_ttl",
        request: async () => post({ room: "a", user: { name: "x" }, ttlSeconds: 300.5 }, keyA),
      },
      {
        name: "unknown feature",
        status: 400,
        code: "unknown_feature",
        request: async () =>
          post({ room: "a", user: { name: "x" }, features: { "self-destruct": true } }, keyA),
      },
      {
        name: "feature value not boolean",
        status: 400,
        code: "invalid_features",
        request: async () => post({ room: "a", user: { name: "x" }, features: { recording: "yes" } }, keyA),
      },
      {
        name: "API caller without user",
        status: 400,
        code: "missing_user",
        request: async () => post({ room: "a" }, keyA),
      },
      {
        name: "user without name",
        status: 400,
        code: "invalid_user",
        request: async () => post({ room: "a", user: { email: "a@b.co" } }, keyA),
      },
      {
        name: "user.name null",
        status: 400,
        code: "invalid_user",
        request: async () => post({ room: "a", user: { name: null } }, keyA),
      },
      {
        name: "invalid email",
        status: 400,
        code: "invalid_user",
        request: async () => post({ room: "a", user: { name: "x", email: "nope" } }, keyA),
      },
      {
        name: "avatar not https",
        status: 400,
        code: "invalid_user",
        request: async () => post({ room: "a", user: { name: "x", avatar: "javascript:alert(1)" } }, keyA),
      },
      {
        name: "unknown user field",
        status: 400,
        code: "unknown_field",
        request: async () => post({ room: "a", user: { name: "x", role: "admin" } }, keyA),
      },
      {
        name: "unknown top-level field",
        status: 400,
        code: "unknown_field",
        request: async () => post({ room: "a", user: { name: "x" }, exp: 1 }, keyA),
      },
      {
        name: "moderator not boolean",
        status: 400,
        code: "invalid_moderator",
        request: async () => post({ room: "a", user: { name: "x" }, moderator: "true" }, keyA),
      },
      {
        name: "no credentials",
        status: 401,
        code: "missing_credentials",
        request: async () => post({ room: "a", user: { name: "x" } }, undefined),
      },
      {
        name: "Basic instead of Bearer",
        status: 401,
        code: "missing_credentials",
        request: async () =>
          post({ room: "a", user: { name: "x" } }, undefined, { authorization: `Basic ${keyA}` }),
      },
      {
        name: "wrong API key",
        status: 401,
        code: "invalid_credentials",
        request: async () => post({ room: "a", user: { name: "x" } }, "wrong-key-but-long-enough-0000000000"),
      },
      {
        name: "revoked API key",
        status: 401,
        code: "invalid_credentials",
        request: async () => post({ room: "a", user: { name: "x" } }, revokedKey),
      },
      {
        name: "API key with one character changed",
        status: 401,
        code: "invalid_credentials",
        request: async () => post({ room: "a", user: { name: "x" } }, `${keyA.slice(0, -1)}x`),
      },
      {
        name: "expired OIDC token",
        status: 401,
        code: "token_expired",
        request: async () => post({ room: "team-a" }, await idp.idToken({}, { expiresIn: -120 })),
      },
      {
        name: "OIDC token from another issuer",
        status: 401,
        code: "invalid_token",
        request: async () =>
          post({ room: "team-a" }, await idp.idToken({}, { issuer: "https://evil.example.com/" })),
      },
      {
        name: "OIDC token for another audience",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({}, { audience: "other-app" })),
      },
      {
        name: "OIDC token with alg none",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, idp.unsignedToken()),
      },
      {
        name: "HS256 token signed with the JWKS public key",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.confusedToken()),
      },
      {
        name: "OIDC token signed by an unpublished key",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.foreignToken()),
      },
      {
        name: "OIDC token without sub",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({ sub: undefined })),
      },
      {
        name: "OIDC token with sub null and a blank name (reviewer's case)",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({ sub: null, name: "  " } as Json)),
      },
      {
        name: "OIDC token with a numeric sub",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({ sub: 42 } as Json)),
      },
      {
        name: "OIDC token with an empty sub",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({ sub: "" })),
      },
      {
        name: "OIDC token with an object sub",
        status: 401,
        code: "invalid_token",
        request: async () => post({ room: "team-a" }, await idp.idToken({ sub: { id: "x" } } as Json)),
      },
      {
        name: "OIDC token for several audiences without azp",
        status: 401,
        code: "invalid_token",
        request: async () =>
          post({ room: "team-a" }, await idp.idToken({ aud: [idp.audience, "other-app"] })),
      },
      {
        name: "OIDC token for several audiences whose azp is another client",
        status: 401,
        code: "invalid_token",
        request: async () =>
          post({ room: "team-a" }, await idp.idToken({ aud: [idp.audience, "other-app"], azp: "other-app" })),
      },
      {
        name: "OIDC token with a blank name, no user.name in the request",
        status: 400,
        code: "missing_user",
        request: async () => post({ room: "team-a" }, await idp.idToken({ name: " \t " })),
      },
      {
        name: "OIDC caller outside its room policy",
        status: 403,
        code: "room_forbidden",
        request: async () => post({ room: "board" }, await idp.idToken()),
      },
      {
        name: 'OIDC caller asking for room "*"',
        status: 403,
        code: "room_forbidden",
        request: async () => post({ room: "*" }, await idp.idToken({ groups: ["hosts"] })),
      },
      {
        name: "OIDC non-moderator asking for moderator",
        status: 403,
        code: "moderator_forbidden",
        request: async () => post({ room: "team-a", moderator: true }, await idp.idToken()),
      },
      {
        name: "OIDC non-moderator turning a feature on",
        status: 403,
        code: "features_forbidden",
        request: async () => post({ room: "team-a", features: { recording: true } }, await idp.idToken()),
      },
      {
        name: "preflight from a disallowed origin",
        status: 403,
        code: "origin_forbidden",
        request: async () => ({
          method: "OPTIONS",
          headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" },
        }),
      },
      {
        name: "POST from a disallowed origin",
        status: 403,
        code: "origin_forbidden",
        request: async () =>
          post({ room: "a", user: { name: "x" } }, keyA, { origin: "https://evil.example.com" }),
      },
      {
        name: "GET on the token route",
        status: 405,
        code: "method_not_allowed",
        request: async () => ({ method: "GET", headers: { authorization: `Bearer ${keyA}` } }),
      },
      {
        name: "unknown route",
        status: 404,
        code: "not_found",
        request: async () => ({ ...post({ room: "a", user: { name: "x" } }, keyA), path: "/v1/tokens" }),
      },
    ];

    it(`refuses ${bad.length} bad requests, each with its 4xx, a JSON error naming the problem, and no token`, async () => {
      const outcomes: string[] = [];
      for (const c of bad) {
        const { res, text } = await call(issuer, await c.request());
        let parsed: Json = {};
        try {
          parsed = JSON.parse(text);
        } catch {
          /* reported below */
        }
        const got = `${res.status} ${parsed?.error?.code}`;
        const clean =
          !("token" in parsed) && !/eyJ[\w-]+\.eyJ/.test(text) && typeof parsed?.error?.message === "string";
        if (got !== `${c.status} ${c.code}` || !clean)
          outcomes.push(`${c.name}: got ${got} ${text.slice(0, 200)}`);
      }
      expect(outcomes).toEqual([]);
      expect(bad.length).toBeGreaterThanOrEqual(30);
    });

    it('refuses room "*" when the stack does not allow every room', async () => {
      const { res, body } = await call(strict, post({ room: "*", user: { name: "x" } }, keyA));
      expect([res.status, body.error.code]).toEqual([403, "room_forbidden"]);
    });

    it("rate-limits each caller: past the limit it answers 429 and issues nothing", async () => {
      const statuses: number[] = [];
      let last: Json = {};
      for (let i = 0; i < 6; i++) {
        const { res, body } = await call(strict, post({ room: `rl-${i}`, user: { name: "x" } }, keyA));
        statuses.push(res.status);
        last = body;
      }
      expect(statuses.slice(0, 2)).toEqual([200, 200]);
      expect(statuses).toContain(429);
      expect(last).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
    });

    it(`refuses an address with 429 after ${AUTH_FAILURES_PER_MINUTE} failed sign-ins in a minute, even with a good key, and no other`, async () => {
      const from = (address: string) => ({ [issuer.clientHeader]: address });
      const wrong = "wrong-key-but-long-enough-0000000000";
      // Successful calls never count against an address.
      for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 2; i++) {
        const { res } = await call(
          issuer,
          post({ room: "ok", user: { name: "x" } }, keyA, from("198.51.100.20")),
        );
        expect(res.status).toBe(200);
      }
      const failed: number[] = [];
      for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
        const { res } = await call(
          issuer,
          post({ room: "a", user: { name: "x" } }, wrong, from("198.51.100.21")),
        );
        failed.push(res.status);
      }
      expect(new Set(failed)).toEqual(new Set([401]));
      const guess = await call(
        issuer,
        post({ room: "a", user: { name: "x" } }, wrong, from("198.51.100.21")),
      );
      const good = await call(issuer, post({ room: "a", user: { name: "x" } }, keyA, from("198.51.100.21")));
      for (const r of [guess, good]) {
        expect(r.res.status).toBe(429);
        expect(r.body.error.code).toBe("auth_rate_limited");
        expect(r.res.headers.get("retry-after")).toBe("60");
      }
      const other = await call(issuer, post({ room: "a", user: { name: "x" } }, keyA, from("198.51.100.20")));
      expect(other.res.status).toBe(200);
    });

    it("logs one structured line per token request, never a secret, key or token", async () => {
      await mint({ room: "log-check", user: { name: "Eve" } });
      const parsed = () =>
        issuer
          .logs()
          .split("\n")
          .slice(0, -1) // a line is complete once its newline has arrived
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Json);
      const issued = (l: Json) =>
        l.event === "token_issued" && l.room === "log-check" && /^key:/.test(l.caller);
      // The Node server writes its log lines together, up to 100 ms after the answer (issuer/log.ts).
      await waitFor(() => parsed().some(issued));
      const lines = parsed();
      expect(lines.some((l) => l.event === "request_refused" && l.code === "invalid_credentials")).toBe(true);
      const all = issuer.logs() + strict.logs();
      for (const s of [secret, keyA, keyB, revokedKey]) expect(all).not.toContain(s);
      expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });
  });
}
