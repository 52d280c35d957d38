import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../issuer/auth";
import { createIssuer } from "../../issuer/handler";
import { DEFAULT_OIDC_ALGORITHMS, type OidcConfig } from "../../issuer/config";
import { startProvider, type TestProvider } from "./oidc";

/** Key set endpoints that fail the way real providers do during an outage or a misconfiguration. */
const BROKEN: Record<string, { status: number; type: string; body: string }> = {
  "/server-error": { status: 500, type: "application/json", body: '{"error":"internal"}' },
  "/not-found": { status: 404, type: "text/html", body: "<h1>Not Found</h1>" },
  "/unavailable": { status: 503, type: "text/plain", body: "upstream connect error" },
  "/html": { status: 200, type: "text/html", body: "<html><body>Sign in</body></html>" },
  "/truncated": { status: 200, type: "application/json", body: '{"keys":[{"kty":"RSA"' },
  "/empty": { status: 200, type: "application/json", body: "" },
};

let idp: TestProvider;
let broken: http.Server;
let brokenBase: string;

beforeAll(async () => {
  idp = await startProvider();
  broken = http.createServer((req, res) => {
    const answer = BROKEN[req.url ?? ""] ?? BROKEN["/not-found"]!;
    res.writeHead(answer.status, { "content-type": answer.type });
    res.end(answer.body);
  });
  await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
  brokenBase = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all([idp?.close(), new Promise((r) => broken?.close(r))]);
});

const oidcAt = (jwksUrl: string): OidcConfig => ({
  issuer: idp.issuer,
  audience: idp.audience,
  jwksUrl,
  algorithms: DEFAULT_OIDC_ALGORITHMS,
  nameClaim: "name",
  emailClaim: "email",
  groupsClaim: "groups",
  rooms: ["*"],
});

describe("OIDC key set outages", () => {
  it.each(Object.keys(BROKEN))(
    "answers 503 oidc_unavailable, not 401, when the JWKS endpoint answers %s",
    async (path) => {
      const authenticate = await createAuthenticator({ apiKeys: [], oidc: oidcAt(`${brokenBase}${path}`) });
      const refusal = await Promise.resolve(authenticate(`Bearer ${await idp.idToken()}`)).catch(
        (e: unknown) => e,
      );
      expect(refusal).toMatchObject({ status: 503, code: "oidc_unavailable" });
    },
  );

  it("still answers 401 for a token whose key the working provider never published", async () => {
    const authenticate = await createAuthenticator({ apiKeys: [], oidc: oidcAt(idp.jwksUrl) });
    await expect(authenticate(`Bearer ${await idp.idToken()}`)).resolves.toMatchObject({ kind: "oidc" });
    const refusal = await Promise.resolve(authenticate(`Bearer ${await idp.foreignToken()}`)).catch(
      (e: unknown) => e,
    );
    expect(refusal).toMatchObject({ status: 401, code: "invalid_token" });
  });
});

describe("answers without a promise where it can", () => {
  const KEY = "k".repeat(40);

  it("answers an API key at once, and refuses a wrong one by throwing at once: no promise hop on the Node server", async () => {
    const authenticate = await createAuthenticator({ apiKeys: [KEY], oidc: oidcAt(idp.jwksUrl) });
    const caller = authenticate(`Bearer ${KEY}`);
    expect(caller).not.toBeInstanceOf(Promise);
    expect(caller).toMatchObject({ kind: "key", rooms: ["*"] });
    expect(() => authenticate(`Bearer ${"x".repeat(40)}`)).toThrow(
      expect.objectContaining({ status: 401, code: "invalid_credentials" }),
    );
    expect(() => authenticate(null)).toThrow(expect.objectContaining({ code: "missing_credentials" }));
    // An ID token still needs the provider's keys: a promise.
    const oidc = authenticate(`Bearer ${await idp.idToken()}`);
    expect(oidc).toBeInstanceOf(Promise);
    await expect(oidc).resolves.toMatchObject({ kind: "oidc" });
  });

  it("counts refused ID tokens against the client's address, as it counts refused keys", async () => {
    const failures: string[] = [];
    const issuer = await createIssuer(
      {
        appId: "jitsi-stack",
        secret: "s".repeat(32),
        domain: "meet.example.com",
        apiKeys: [KEY],
        maxTtlSeconds: 3600,
        rateLimitPerMinute: 100,
        allowAllRooms: false,
        corsOrigins: [],
        oidc: oidcAt(idp.jwksUrl),
      },
      {
        rateLimiter: () => true,
        authFailures: { blocked: () => false, recordFailure: (a) => failures.push(a) },
        log: () => undefined,
      },
    );
    const ask = (authorization: string, client: string) =>
      issuer.handle({
        method: "POST",
        url: "/v1/token",
        header: (name) =>
          ({ authorization, "content-type": "application/json" })[name as "authorization"] ?? null,
        client,
        body: async () => new TextEncoder().encode('{"room":"a"}'),
      });
    expect((await ask(`Bearer ${await idp.foreignToken()}`, "192.0.2.1")).status).toBe(401);
    expect((await ask(`Bearer ${"x".repeat(40)}`, "192.0.2.2")).status).toBe(401);
    expect((await ask(`Bearer ${await idp.idToken()}`, "192.0.2.3")).status).toBe(200);
    expect(failures).toEqual(["192.0.2.1", "192.0.2.2"]);
  });
});
