import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_FAILURES_PER_MINUTE } from "../../issuer/rateLimit";
import { APP_ID, DOMAIN } from "./behaviour";
import { inParallel, request, statusOf } from "./client";
import { startProvider, type TestProvider } from "./oidc";
import { checkWithPyJwt } from "./pyjwt";
import { httpRequest, keptAliveStatuses, RawConnection, rawExchange } from "./rawHttp";
import type { RunningIssuer, StartIssuer } from "./targets";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A hostile token request and the refusal it must get; `says` must appear in the error message. */
interface Refused {
  name: string;
  /** The body exactly as sent: a string is sent as UTF-8. */
  body: string | Uint8Array;
  /** An OIDC ID token instead of the API key. */
  idToken?: () => Promise<string>;
  status: number;
  code: string;
  /** Words the error message must hold, so it names what was wrong. */
  says?: string | string[];
}

/** A request that looks hostile but is fine, and what the token must then say. */
interface Accepted {
  name: string;
  body: string;
  idToken?: () => Promise<string>;
  check: (claims: Json) => void;
}

const text = (value: unknown) => JSON.stringify(value);
const withName = (name: unknown) => text({ room: "r", user: { name } });
const withUser = (user: Json) => text({ room: "r", user: { name: "Ada", ...user } });
const withRoom = (room: unknown) => text({ room, user: { name: "Ada" } });

/**
 * The issuer against hostile clients (issue 13), run unchanged against the Node server and the
 * bundled Worker in workerd. Refusals must be the same 4xx and code on both; accepted tokens are
 * checked by PyJWT the way Prosody checks them.
 */
export function hostileBehaviour(label: string, start: StartIssuer): void {
  const secret = randomBytes(32).toString("hex");
  const key = randomBytes(32).toString("hex");
  let idp: TestProvider;
  let target: RunningIssuer;
  const env = () => ({
    JWT_APP_ID: APP_ID,
    JWT_APP_SECRET: secret,
    JITSI_DOMAIN: DOMAIN,
    ISSUER_API_KEYS: key,
    ISSUER_RATE_LIMIT_PER_MINUTE: "10000",
    ISSUER_OIDC_ISSUER: idp.issuer,
    ISSUER_OIDC_AUDIENCE: idp.audience,
    ISSUER_OIDC_JWKS_URL: idp.jwksUrl,
  });

  beforeAll(async () => {
    idp = await startProvider();
    target = await start(env());
  });
  afterAll(async () => {
    await Promise.all([target?.stop(), idp?.close()]);
  });

  const post = async (body: string | Uint8Array, bearer: string, headers: Record<string, string> = {}) => {
    const res = await request(`${target.baseUrl}/v1/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", ...headers },
      body,
    });
    const raw = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(raw);
    } catch {
      /* the caller reports the raw text */
    }
    return { status: res.status, json, raw };
  };

  /** Sends every case; the list of cases whose answer differs from the expected one. */
  async function mismatches(cases: Refused[]): Promise<string[]> {
    const found = await inParallel(cases, 4, async (c) => {
      const { status, json, raw } = await post(c.body, c.idToken ? await c.idToken() : key);
      const message: unknown = json.error?.message;
      const ok =
        status === c.status &&
        json.error?.code === c.code &&
        typeof message === "string" &&
        [c.says ?? []].flat().every((words) => message.includes(words)) &&
        !/eyJ[\w-]+\.eyJ/.test(raw);
      return ok ? undefined : `${c.name}: got ${status} ${raw.slice(0, 240)}`;
    });
    return found.filter((m): m is string => m !== undefined);
  }

  async function accepted(cases: Accepted[]): Promise<string[]> {
    const found = await inParallel(cases, 4, async (c) => {
      const { status, json, raw } = await post(c.body, c.idToken ? await c.idToken() : key);
      if (status !== 200) return `${c.name}: got ${status} ${raw.slice(0, 240)}`;
      const checked = await checkWithPyJwt(APP_ID, secret, json.token);
      if (!checked.ok) return `${c.name}: PyJWT refused the token: ${checked.reason}`;
      try {
        c.check(checked.claims!);
      } catch (err) {
        return `${c.name}: ${(err as Error).message}`;
      }
      return undefined;
    });
    return found.filter((m): m is string => m !== undefined);
  }

  describe(`token issuer against hostile clients (${label})`, () => {
    it("refuses strings that are not well-formed Unicode anywhere in the body (lone surrogates)", async () => {
      const lone = (name: string, body: string, says: string) => ({
        name,
        body,
        status: 400,
        code: "invalid_unicode",
        says,
      });
      const cesu8 = Buffer.concat([
        Buffer.from('{"room":"r","user":{"name":"A'),
        Buffer.from([0xed, 0xa0, 0x80]), // U+D800 encoded as if it were a character (CESU-8)
        Buffer.from('"}}'),
      ]);
      const cases: Refused[] = [
        lone("a high surrogate at the end of user.name (the issue's case)", withName("A\ud800"), "user.name"),
        lone("a low surrogate at the start of user.name", withName("\udc00Bob"), "user.name"),
        lone("two high surrogates", withName("A\ud800\ud800"), "user.name"),
        lone("a pair in the wrong order", withName("\ude00\ud83d"), "user.name"),
        lone("a lone surrogate alone", withName("\udbff"), "user.name"),
        lone("in user.id", withUser({ id: "u\ud800" }), "user.id"),
        lone("in user.email", withUser({ email: "a\udfff@example.com" }), "user.email"),
        lone("in user.avatar", withUser({ avatar: "https://example.com/\ud800.png" }), "user.avatar"),
        lone("in the room", withRoom("r\ud800"), "room"),
        lone(
          "in a feature's name",
          text({ room: "r", user: { name: "A" }, features: { "rec\ud800": true } }),
          "features",
        ),
        lone("in a key of the body", text({ room: "r", user: { name: "A" }, "\ud800": 1 }), "the body"),
        lone("in an unknown field's value", text({ room: "r", user: { name: "A" }, x: ["\udc00"] }), "x[0]"),
        {
          name: "a surrogate sent as raw bytes (CESU-8), not as an escape",
          body: cesu8,
          status: 400,
          code: "invalid_json",
          says: "UTF-8",
        },
        {
          name: "an overlong UTF-8 encoding of '/'",
          body: Buffer.concat([Buffer.from('{"room":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('b"}')]),
          status: 400,
          code: "invalid_json",
          says: "UTF-8",
        },
        {
          name: "an OIDC name claim with a lone surrogate",
          body: text({ room: "r" }),
          idToken: () => idp.idToken({ name: "Grace\ud800" }),
          status: 400,
          code: "invalid_user",
          says: "'name' claim is not well-formed Unicode",
        },
        {
          name: "an OIDC email claim with a lone surrogate",
          body: text({ room: "r" }),
          idToken: () => idp.idToken({ email: "grace\udc00@example.com" }),
          status: 400,
          code: "invalid_user",
          says: "'email' claim is not well-formed Unicode",
        },
      ];
      expect(await mismatches(cases)).toEqual([]);
      expect(
        await accepted([
          {
            name: "a surrogate pair sent as escapes is one character",
            body: withName("Smile \ud83d\ude00"),
            check: (c) => expect(c.context.user.name).toBe("Smile 😀"),
          },
        ]),
      ).toEqual([]);
    });

    it("refuses a body that names a key twice, at any depth, instead of letting the last one win", async () => {
      const twice = (name: string, body: string, says: string): Refused => ({
        name,
        body,
        status: 400,
        code: "duplicate_key",
        says,
      });
      const cases: Refused[] = [
        twice(
          "moderator false then true (the issue's case)",
          '{"room":"r","user":{"name":"A"},"moderator":false,"moderator":true}',
          '"moderator" twice',
        ),
        twice(
          "moderator true then false",
          '{"moderator":true,"room":"r","user":{"name":"A"},"moderator":false}',
          '"moderator"',
        ),
        twice("room twice", '{"room":"public","user":{"name":"A"},"room":"board"}', '"room"'),
        twice(
          "the same key spelled with an escape",
          '{"room":"a","\\u0072oom":"b","user":{"name":"A"}}',
          '"room"',
        ),
        twice("user.name twice", '{"room":"r","user":{"name":"Ada","name":"Admin"}}', "the body's user has"),
        twice(
          "a feature twice",
          '{"room":"r","user":{"name":"A"},"features":{"recording":false,"recording":true}}',
          "the body's features has",
        ),
        twice("user twice", '{"room":"r","user":{"name":"A"},"user":{"name":"B"}}', '"user"'),
        twice("__proto__ twice", '{"room":"r","user":{"name":"A"},"__proto__":1,"__proto__":2}', "__proto__"),
        twice(
          "deep in an unknown field",
          '{"room":"r","user":{"name":"A"},"x":{"y":[{"z":1,"z":2}]}}',
          "x.y[0]",
        ),
        twice(
          "keys that differ only in a later escape",
          '{"room":"r","user":{"name":"A","\\u006eame":"B"}}',
          '"name"',
        ),
      ];
      expect(await mismatches(cases)).toEqual([]);
      expect(
        await accepted([
          {
            name: "the same key in different objects, and a key's name as a value",
            body: '{"room":"r","user":{"name":"name","id":"room"},"features":{"room":true}}',
            check: (c) => expect(c.context).toMatchObject({ user: { name: "name", id: "room" } }),
          },
        ]),
      ).toEqual([]);
    });

    it("applies the display name rules to names from the body and from ID tokens alike", async () => {
      const invisible = [
        ["NUL", "\u0000"],
        ["a newline inside", "\n"],
        ["a carriage return inside", "\r"],
        ["a tab inside", "\t"],
        ["ESC (terminal escape)", "\u001b[31m"],
        ["DEL", "\u007f"],
        ["C1 next line", "\u0085"],
        ["C1 CSI", "\u009b"],
        ["right-to-left override", "\u202e"],
        ["left-to-right override", "\u202d"],
        ["right-to-left embedding", "\u202b"],
        ["pop directional formatting", "\u202c"],
        ["first strong isolate", "\u2068"],
        ["right-to-left isolate", "\u2067"],
        ["pop directional isolate", "\u2069"],
        ["left-to-right mark", "\u200e"],
        ["Arabic letter mark", "\u061c"],
        ["zero-width space", "\u200b"],
        ["word joiner", "\u2060"],
        ["byte order mark inside", "\ufeff"],
        ["soft hyphen", "\u00ad"],
        ["line separator inside", "\u2028"],
        ["paragraph separator inside", "\u2029"],
        ["private use", "\ue000"],
        ["private use, plane 15", "\u{f0000}"],
        ["a tag character (hidden text)", "\u{e0041}"],
      ];
      const cases: Refused[] = [
        ...invisible.map(([what, char]) => ({
          name: `body name with ${what}`,
          body: withName(`Ad${char}a`),
          status: 400,
          code: "invalid_user",
          says: "user.name must not hold control or invisible formatting characters",
        })),
        {
          name: "the issue's disguised file name",
          body: withName("Ad\u200Ba\u202Egnp.exe"),
          status: 400,
          code: "invalid_user",
          says: "U+200B",
        },
        {
          name: "129 characters",
          body: withName("x".repeat(129)),
          status: 400,
          code: "invalid_user",
          says: "at most 128 characters (got 129)",
        },
        {
          name: "65 emoji of two UTF-16 units each count as 65, but 129 count as 129",
          body: withName("😀".repeat(129)),
          status: 400,
          code: "invalid_user",
          says: "got 129",
        },
        {
          name: "9 combining marks on one letter (Zalgo)",
          body: withName(`Z${"\u0301".repeat(9)}algo`),
          status: 400,
          code: "invalid_user",
          says: "combining marks",
        },
        { name: "only spaces", body: withName("   "), status: 400, code: "invalid_user", says: "blank" },
        { name: "empty", body: withName(""), status: 400, code: "invalid_user", says: "blank" },
        { name: "a number", body: withName(42), status: 400, code: "invalid_user", says: "must be a string" },
        { name: "an array", body: withName(["Ada"]), status: 400, code: "invalid_user", says: "string" },
        { name: "an object", body: withName({ first: "Ada" }), status: 400, code: "invalid_user" },
        { name: "null", body: withName(null), status: 400, code: "invalid_user" },
        ...[
          ["a right-to-left override", "Grace\u202eHopper", "U+202E"],
          ["NUL", "Grace\u0000", "U+0000"],
          ["5,000 characters (the issue's case)", "G".repeat(5000), "at most 128 characters (got 5000)"],
          ["a zero-width space", "Gr\u200bace", "U+200B"],
        ].map(([what, name, detail]) => ({
          name: `ID token name with ${what}`,
          body: text({ room: "r" }),
          idToken: () => idp.idToken({ name }),
          status: 400,
          code: "invalid_user",
          says: ["the ID token's 'name' claim", detail!],
        })),
        {
          name: "ID token name that is not a string",
          body: text({ room: "r" }),
          idToken: () => idp.idToken({ name: 42 } as Json),
          status: 400,
          code: "invalid_user",
          says: "the ID token's 'name' claim must be a string",
        },
      ];
      expect(await mismatches(cases)).toEqual([]);
      const named = (expected: string) => (c: Json) => expect(c.context.user.name).toBe(expected);
      expect(
        await accepted([
          {
            name: "spaces around are trimmed",
            body: withName("  Ada Lovelace \u00a0"),
            check: named("Ada Lovelace"),
          },
          { name: "accents", body: withName("Zoë Ñúñez"), check: named("Zoë Ñúñez") },
          { name: "Chinese", body: withName("李小龍"), check: named("李小龍") },
          { name: "Arabic, right to left by itself", body: withName("محمد علي"), check: named("محمد علي") },
          {
            name: "Persian with a zero-width non-joiner",
            body: withName("می\u200cخواهم"),
            check: named("می\u200cخواهم"),
          },
          {
            name: "an emoji sequence joined with ZWJ",
            body: withName("👩🏽\u200d💻 Dev"),
            check: named("👩🏽\u200d💻 Dev"),
          },
          { name: "128 characters", body: withName("y".repeat(128)), check: named("y".repeat(128)) },
          {
            name: "8 combining marks",
            body: withName(`e${"\u0301".repeat(8)}`),
            check: named(`e${"\u0301".repeat(8)}`),
          },
          {
            name: "an ID token name with spaces and a tab around it",
            body: text({ room: "r" }),
            idToken: () => idp.idToken({ name: "\t Grace Hopper  " }),
            check: named("Grace Hopper"),
          },
        ]),
      ).toEqual([]);
    });

    it("checks the other user fields from the body and the ID token under the same rules", async () => {
      const field = (name: string, user: Json, says: string): Refused => ({
        name,
        body: withUser(user),
        status: 400,
        code: "invalid_user",
        says,
      });
      const claim = (name: string, claims: Json, status: number, code: string, says: string): Refused => ({
        name,
        body: text({ room: "r" }),
        idToken: () => idp.idToken(claims),
        status,
        code,
        says,
      });
      const cases: Refused[] = [
        field("email '<script>@'", { email: "<script>@" }, "user.email must be an email address"),
        field("email without a dot", { email: "a@b" }, "user.email"),
        field("email with a space", { email: "a b@example.com" }, "user.email"),
        field("email with NUL", { email: "a\u0000@example.com" }, "U+0000"),
        field("email with a newline (header injection)", { email: "a@example.com\nBcc: x@y.z" }, "U+000A"),
        field("email of 255 characters", { email: `${"a".repeat(243)}@example.com` }, "at most 254"),
        field("avatar over http", { avatar: "http://example.com/a.png" }, "user.avatar must be an https URL"),
        field("avatar javascript:", { avatar: "javascript:alert(1)" }, "https URL"),
        field("avatar data:", { avatar: "data:image/png;base64,AAAA" }, "https URL"),
        field("avatar with a space", { avatar: "https://exa mple.com/a.png" }, "https URL"),
        field("avatar with a quote", { avatar: 'https://example.com/a".png' }, "https URL"),
        field("avatar with raw non-ASCII", { avatar: "https://example.com/ä.png" }, "percent-encoded"),
        field("avatar that is not a URL", { avatar: "https://" }, "https URL"),
        field(
          "avatar with a right-to-left override",
          { avatar: "https://example.com/\u202egnp.exe" },
          "U+202E",
        ),
        field("avatar of 2049 characters", { avatar: `https://e.com/${"a".repeat(2035)}` }, "at most 2048"),
        field("empty id", { id: "" }, "user.id must be 1 to 256 characters"),
        field("id of 257 characters", { id: "i".repeat(257) }, "at most 256"),
        field("id with NUL", { id: "u\u0000" }, "U+0000"),
        field("id with a bidi isolate", { id: "u\u2066" }, "U+2066"),
        field("id that is a number", { id: 7 }, "user.id must be a string"),
        claim(
          "ID token email '<script>@' (the issue's case)",
          { email: "<script>@" },
          400,
          "invalid_user",
          "the ID token's 'email' claim must be an email address",
        ),
        claim(
          "ID token email with a newline",
          { email: "g@example.com\r\nX: y" },
          400,
          "invalid_user",
          "'email' claim",
        ),
        claim(
          "ID token email that is a list",
          { email: ["g@example.com"] },
          400,
          "invalid_user",
          "'email' claim must be a string",
        ),
        claim(
          "ID token sub of 256 characters",
          { sub: "s".repeat(256) },
          401,
          "invalid_token",
          "'sub' claim",
        ),
        claim("ID token sub with NUL", { sub: "user\u0000" }, 401, "invalid_token", "'sub' claim"),
        claim("ID token sub that is not ASCII", { sub: "ユーザー" }, 401, "invalid_token", "printable ASCII"),
        claim("ID token sub with a lone surrogate", { sub: "u\ud800" }, 401, "invalid_token", "'sub' claim"),
      ];
      expect(await mismatches(cases)).toEqual([]);
      expect(
        await accepted([
          {
            name: "a percent-encoded avatar",
            body: withUser({ avatar: "https://example.com/%C3%A4.png?s=64" }),
            check: (c) => expect(c.context.user.avatar).toBe("https://example.com/%C3%A4.png?s=64"),
          },
          {
            name: "an ID token with a null email",
            body: text({ room: "r" }),
            idToken: () => idp.idToken({ email: null } as Json),
            check: (c) => expect(c.context.user).not.toHaveProperty("email"),
          },
        ]),
      ).toEqual([]);
    });

    it("takes room names as ASCII only, so no look-alike lower-cases into another room", async () => {
      const rooms = [
        ["Kelvin sign (the issue's case)", "\u212Aitchen"],
        ["Kelvin sign alone", "\u212A"],
        ["long s", "\u017Ftandup"],
        ["dotted capital I", "\u0130stanbul"],
        ["dotless i", "k\u0131tchen"],
        ["fullwidth letters", "ｋｉｔｃｈｅｎ"],
        ["a Cyrillic ka", "\u043Aitchen"],
        ["K with a combining dot", "K\u0307itchen"],
        ["a titlecase digraph", "\u01C5ungla"],
        ["a zero-width space", "kit\u200bchen"],
        ["NUL", "kitchen\u0000"],
        ["a newline", "kitchen\n"],
        ["a leading space", " kitchen"],
        ["a trailing space", "kitchen "],
        ["a dot first", ".kitchen"],
        ["dot dot", ".."],
        ["a path", "team/kitchen"],
        ["a percent escape", "%6Bitchen"],
        ["a backslash", "kitchen\\x"],
        ["a wildcard inside", "kit*"],
      ];
      const cases: Refused[] = rooms.map(([what, room]) => ({
        name: `room with ${what}`,
        body: withRoom(room),
        status: 400,
        code: "invalid_room",
        says: "ASCII",
      }));
      expect(await mismatches(cases)).toEqual([]);
      expect(
        await accepted([
          {
            name: "mixed-case ASCII",
            body: withRoom("KiTcHeN"),
            check: (c) => expect(c.room).toBe("kitchen"),
          },
          {
            name: "an OIDC caller's mixed-case room",
            body: text({ room: "Team-Blue" }),
            idToken: () => idp.idToken(),
            check: (c) => expect(c.room).toBe("team-blue"),
          },
        ]),
      ).toEqual([]);
    });

    it("refuses a request that carries Authorization, Content-Type or Origin twice", async () => {
      const body = text({ room: "r", user: { name: "A" } });
      const send = (headers: string[]) =>
        rawExchange(
          target.baseUrl,
          httpRequest(
            [
              "POST /v1/token HTTP/1.1",
              "Host: issuer.test",
              ...headers,
              `Content-Length: ${Buffer.byteLength(body)}`,
              "Connection: close",
            ],
            body,
          ),
        );
      const json = "Content-Type: application/json";
      const good = `Authorization: Bearer ${key}`;
      const wrong = `Authorization: Bearer ${"0".repeat(64)}`;
      const cases: Array<[string, string[]]> = [
        ["the same valid key twice", [good, good, json]],
        ["a valid key, then a wrong one", [good, wrong, json]],
        ["a wrong key, then a valid one", [wrong, good, json]],
        ["two spellings of the header name", [good, `authorization: Bearer ${key}`, json]],
        ["two keys in one header, comma-joined", [`Authorization: Bearer ${key}, Bearer ${key}`, json]],
        ["an ID token and a key", [`Authorization: Bearer ${await idp.idToken()}`, good, json]],
        ["Content-Type twice", [good, json, json]],
        ["Content-Type twice, the second not JSON", [good, json, "Content-Type: text/plain"]],
        ["Origin twice", [good, json, `Origin: https://${DOMAIN}`, "Origin: https://evil.example.com"]],
      ];
      const wrongAnswers: string[] = [];
      for (const [what, headers] of cases) {
        const { responses } = await send(headers);
        const final = responses.filter((r) => r.status >= 200);
        const error = final.length === 1 ? (JSON.parse(final[0]!.body) as Json).error : undefined;
        if (final[0]?.status !== 400 || error?.code !== "duplicate_header" || /eyJ/.test(final[0].body)) {
          wrongAnswers.push(`${what}: ${JSON.stringify(final)}`);
        }
      }
      expect(wrongAnswers).toEqual([]);
      // One header of each still works.
      const { responses } = await send([good, json, `Origin: https://${DOMAIN}`]);
      expect(responses.at(-1)?.status).toBe(200);
    });

    it("answers OPTIONS on an unknown path with 404, and preflights only real routes", async () => {
      const options = async (target_: string, headers: string[] = []) => {
        const { responses } = await rawExchange(
          target.baseUrl,
          httpRequest([`OPTIONS ${target_} HTTP/1.1`, "Host: issuer.test", ...headers, "Connection: close"]),
        );
        return responses.at(-1);
      };
      const unknown = [
        "/etc/passwd",
        "/",
        "/v1",
        "/v1/tokens",
        "/v1/token/",
        "/V1/TOKEN",
        "/healthz/x",
        "/token",
        "/token/../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/v1/token%00",
      ];
      const wrong: string[] = [];
      for (const path of unknown) {
        const answer = await options(path, ["Origin: https://app.example.com"]);
        const code = answer ? (JSON.parse(answer.body || "{}") as Json).error?.code : undefined;
        if (answer?.status !== 404 || code !== "not_found" || answer.headers.allow !== undefined) {
          wrong.push(`${path}: ${JSON.stringify(answer)}`);
        }
      }
      expect(wrong).toEqual([]);
      const token = await options("/v1/token");
      expect([token?.status, token?.headers.allow]).toEqual([204, "POST, OPTIONS"]);
      const prefixed = await options("/token/v1/token");
      expect([prefixed?.status, prefixed?.headers.allow]).toEqual([204, "POST, OPTIONS"]);
      const health = await options("/healthz");
      expect([health?.status, health?.headers.allow]).toEqual([204, "GET, HEAD, OPTIONS"]);
    });

    it("refuses a declared body over the cap before asking for credentials, and stops reading one that never ends", async () => {
      // Declared too large: refused at once, without credentials, whatever follows.
      const declared = await RawConnection.open(target.baseUrl);
      declared.write(
        httpRequest(
          [
            "POST /v1/token HTTP/1.1",
            "Host: issuer.test",
            "Content-Type: application/json",
            "Content-Length: 100000000000",
          ],
          "x".repeat(100),
        ),
      );
      await declared.until((t) => /\r\n\r\n[\s\S]*\}$/.test(t));
      declared.close();
      const refusal = declared.responses().at(-1);
      expect(refusal?.status).toBe(413);
      expect(JSON.parse(refusal!.body).error.code).toBe("body_too_large");

      // Streamed without end: the server stops taking bytes and closes. 13 GB went in before the fix.
      const limit = 1024 ** 3;
      const streams = [
        ["a declared 100 GB body, no credentials", ["Content-Length: 100000000000"]],
        ["a chunked body, no credentials", ["Transfer-Encoding: chunked"]],
        ["a chunked body with a valid key", ["Transfer-Encoding: chunked", `Authorization: Bearer ${key}`]],
      ] as const;
      for (const [what, headers] of streams) {
        const connection = await RawConnection.open(target.baseUrl);
        connection.write(
          httpRequest([
            "POST /v1/token HTTP/1.1",
            "Host: issuer.test",
            "Content-Type: application/json",
            ...headers,
          ]),
        );
        const chunked = headers[0].startsWith("Transfer");
        const piece = Buffer.from(chunked ? `4000\r\n${" ".repeat(0x4000)}\r\n` : " ".repeat(0x4000));
        const accepted = await connection.stream(piece, limit);
        connection.close();
        // Bounded by the kernel's socket buffers, not by the upload: far below the gigabyte offered.
        expect(accepted, what).toBeLessThan(64 * 1024 ** 2);
        expect(connection.closed, what).toBe(true);
      }
    });

    it("keeps serving a valid key from a fresh address after 10,000 failed sign-ins from distinct IPv6 /64s", async () => {
      // The suite's target, last: the flood fills its failed sign-in table, evicting the few entries
      // earlier tests left (their address, 127.0.0.1). Every address asserted on is one this test sends.
      const attempt = (address: string, bearer: string) =>
        statusOf(`${target.baseUrl}/v1/token`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${bearer}`,
            "content-type": "application/json",
            [target.clientHeader]: address,
          },
          body: withName("A"),
        });
      const wrong = "w".repeat(64);
      // What nginx forwards for 10,000 clients, each in its own /64 (2001:db8:<i>:<j>::1).
      const attackers = Array.from(
        { length: 10_000 },
        (_, i) => `2001:db8:${(i >> 8).toString(16)}:${(i & 255).toString(16)}::1`,
      );
      // On a few kept-alive connections, and without a body: workerd closes a connection whose
      // request body the Worker left unread, as it does when it refuses the credentials.
      const flood = attackers.map((address) =>
        httpRequest([
          "POST /v1/token HTTP/1.1",
          "Host: issuer.test",
          `Authorization: Bearer ${wrong}`,
          "Content-Type: application/json",
          `${target.clientHeader}: ${address}`,
          "Content-Length: 0",
        ]),
      );
      const statuses = await keptAliveStatuses(target.baseUrl, flood);
      expect(new Set(statuses)).toEqual(new Set([401]));

      expect(await attempt("2001:db8:ffff:1::7", key)).toBe(200); // a fresh address
      expect(await attempt("198.51.100.77", key)).toBe(200);
      expect(await attempt(attackers[0]!, key)).toBe(200); // one failure is not a block
      // The limit still holds for an address that keeps guessing, however full the table.
      const guesser = "2001:db8:ffff:2::9";
      const guesses: number[] = [];
      for (let i = 0; i <= AUTH_FAILURES_PER_MINUTE; i++) guesses.push(await attempt(guesser, wrong));
      expect(guesses.slice(0, AUTH_FAILURES_PER_MINUTE)).toEqual(Array(AUTH_FAILURES_PER_MINUTE).fill(401));
      expect(guesses.at(-1)).toBe(429);
      expect(await attempt(guesser, key)).toBe(429);
      expect(await attempt("2001:db8:ffff:3::1", key)).toBe(200);
    }, 180_000);
  });
}
