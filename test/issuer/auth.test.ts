import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../issuer/auth";
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
      const refusal = await authenticate(`Bearer ${await idp.idToken()}`).catch((e: unknown) => e);
      expect(refusal).toMatchObject({ status: 503, code: "oidc_unavailable" });
    },
  );

  it("still answers 401 for a token whose key the working provider never published", async () => {
    const authenticate = await createAuthenticator({ apiKeys: [], oidc: oidcAt(idp.jwksUrl) });
    await expect(authenticate(`Bearer ${await idp.idToken()}`)).resolves.toMatchObject({ kind: "oidc" });
    const refusal = await authenticate(`Bearer ${await idp.foreignToken()}`).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ status: 401, code: "invalid_token" });
  });
});
