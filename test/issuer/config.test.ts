import { describe, expect, it } from "vitest";
import { configFromEnv, type IssuerEnv, IssuerConfigError } from "../../issuer/config";

/** The issuer's own settings parser: it must refuse what the stack schema refuses, on its own. */
const base: IssuerEnv = {
  JWT_APP_ID: "jitsi-stack",
  JWT_APP_SECRET: "s".repeat(32),
  JITSI_DOMAIN: "meet.example.com",
  ISSUER_API_KEYS: "k".repeat(32),
};
const oidc: IssuerEnv = {
  ISSUER_OIDC_ISSUER: "https://login.example.com/",
  ISSUER_OIDC_AUDIENCE: "meeting-app",
  ISSUER_OIDC_JWKS_URL: "https://login.example.com/jwks.json",
};
const problems = (env: IssuerEnv): string[] => {
  try {
    configFromEnv(env);
    return [];
  } catch (err) {
    if (err instanceof IssuerConfigError) return err.problems;
    throw err;
  }
};

describe("the issuer's own settings", () => {
  it("accept a minimal API-key setup and one with OIDC", () => {
    expect(problems(base)).toEqual([]);
    expect(configFromEnv({ ...base, ...oidc }).oidc?.algorithms).toEqual(["RS256", "ES256"]);
  });

  it.each(["HS256", "HS384", "HS512", "none", "None", "RS256,HS256", "ES256K", "dir"])(
    "refuse ISSUER_OIDC_ALGORITHMS=%s: an HMAC or none algorithm would let a public key, or nothing, sign ID tokens",
    (algorithms) => {
      const found = problems({ ...base, ...oidc, ISSUER_OIDC_ALGORITHMS: algorithms });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^ISSUER_OIDC_ALGORITHMS holds '.+'; use asymmetric ones/);
    },
  );

  it.each([
    ["31 ASCII bytes", "s".repeat(31)],
    ["31 bytes in 16 characters", `${"é".repeat(15)}x`],
    ["one byte", "x"],
  ])("refuse a JWT_APP_SECRET of %s", (_what, secret) => {
    expect(problems({ ...base, JWT_APP_SECRET: secret })).toEqual([
      "JWT_APP_SECRET must be at least 32 bytes; generate one with: openssl rand -hex 32",
    ]);
  });

  it("count the secret in UTF-8 bytes, as Prosody uses it: 16 two-byte characters are enough", () => {
    expect(problems({ ...base, JWT_APP_SECRET: "é".repeat(16) })).toEqual([]);
  });

  it("refuse a missing secret and a short API key, naming each, without echoing secrets", () => {
    const found = problems({ ...base, JWT_APP_SECRET: undefined, ISSUER_API_KEYS: "short-key" });
    expect(found).toEqual([
      expect.stringMatching(/^JWT_APP_SECRET is not set/),
      expect.stringMatching(/^ISSUER_API_KEYS item 1 is 9 characters/),
    ]);
    expect(found.join(" ")).not.toContain("short-key");
  });

  // Tokens carry https://<JITSI_DOMAIN>/<room>: anything but a bare hostname makes every link wrong.
  it.each([
    "https://meet.example.com/",
    "https://meet.example.com",
    "http://meet.example.com",
    "meet.example.com/",
    "meet.example.com/room",
    "meet.example.com:443",
    "meet.example.com.",
    "Meet.Example.com",
    "meet example.com",
    "meet..example.com",
    "-meet.example.com",
    "meet-.example.com",
    "meet_room.example.com",
    "localhost",
    "meet",
    "10.0.0.1",
    "[::1]",
    "meet.example.com?x=1",
    "meet.example.com#jwt",
    "user@meet.example.com",
    "mééting.example.com",
    `${"a".repeat(64)}.example.com`,
    `${"abcdefghi.".repeat(26)}com`,
  ])("refuse JITSI_DOMAIN=%j, naming the value and the form it must take", (domain) => {
    expect(problems({ ...base, JITSI_DOMAIN: domain })).toEqual([
      `JITSI_DOMAIN must be the meeting's hostname like meet.example.com, without scheme, port or path (got '${domain.trim()}')`,
    ]);
  });

  it.each(["meet.example.com", "a.b", "meet-1.eu.example.co.uk", " meet.example.com "])(
    "accept JITSI_DOMAIN=%j",
    (domain) => {
      expect(configFromEnv({ ...base, JITSI_DOMAIN: domain }).domain).toBe(domain.trim());
    },
  );

  it("say one problem on one line, and several one per line", () => {
    expect(() => configFromEnv({ ...base, JITSI_DOMAIN: "https://meet.example.com/" })).toThrow(
      /^The token issuer's settings are invalid: JITSI_DOMAIN must be [^\n]+$/,
    );
    expect(() => configFromEnv({ ...base, JITSI_DOMAIN: "x/", JWT_APP_SECRET: "short" })).toThrow(
      /^The token issuer's settings are invalid:\n {2}- JWT_APP_SECRET .+\n {2}- JITSI_DOMAIN .+$/,
    );
  });
});
