import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  exportJWK,
  exportSPKI,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";

/** A stand-in identity provider on loopback: a real JWKS endpoint and ID tokens signed with its RSA key. */
export interface TestProvider {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** An ID token with good defaults; `claims` and `options` override them. */
  idToken(
    claims?: JWTPayload,
    options?: { expiresIn?: number; issuer?: string; audience?: string },
  ): Promise<string>;
  /** `alg: none`: no signature at all. */
  unsignedToken(): string;
  /** HS256 signed with the provider's public key as the HMAC secret (algorithm confusion). */
  confusedToken(): Promise<string>;
  /** RS256 from a key the provider never published, under the published key id. */
  foreignToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The provider's signing key and a key it never publishes, made once per test process: a 2048-bit
 * RSA pair takes the test process about 0.17 s of CPU, and each issuer suite starts a provider. Two
 * providers with the same key stay apart: an issuer checks the token's issuer, a provider's own URL.
 */
let keys: Promise<[GenerateKeyPairResult, GenerateKeyPairResult]> | undefined;

export async function startProvider(): Promise<TestProvider> {
  keys ??= Promise.all([generateKeyPair("RS256", { extractable: true }), generateKeyPair("RS256")]);
  const [{ publicKey, privateKey }, stranger] = await keys;
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/`;
  const audience = "meeting-app";
  const now = () => Math.floor(Date.now() / 1000);
  const payload = (claims: JWTPayload, expiresIn: number, iss = issuer, aud = audience): JWTPayload => ({
    iss,
    aud,
    sub: "user-42",
    name: "Grace Hopper",
    email: "grace@example.com",
    groups: ["staff"],
    iat: now() - 60,
    exp: now() + expiresIn,
    ...claims,
  });
  return {
    issuer,
    audience,
    jwksUrl: `${base}/jwks.json`,
    idToken: (claims = {}, o = {}) =>
      new SignJWT(payload(claims, o.expiresIn ?? 300, o.issuer, o.audience))
        .setProtectedHeader({ alg: "RS256", kid: "test-key", typ: "JWT" })
        .sign(privateKey),
    unsignedToken: () => new UnsecuredJWT(payload({}, 300)).encode(),
    confusedToken: async () =>
      new SignJWT(payload({}, 300))
        .setProtectedHeader({ alg: "HS256", kid: "test-key", typ: "JWT" })
        .sign(new TextEncoder().encode(await exportSPKI(publicKey))),
    foreignToken: () =>
      new SignJWT(payload({}, 300))
        .setProtectedHeader({ alg: "RS256", kid: "test-key", typ: "JWT" })
        .sign(stranger.privateKey),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
