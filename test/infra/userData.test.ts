import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OIDC_ALGORITHMS } from "../../issuer/config";
import { cloudInitSchema, writtenFiles } from "../helpers/userData";
import { USER_DATA_LIMIT_BYTES } from "../../infra/render/cloudInit";
import { revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { exampleConfig, ofType, runProgram } from "../helpers/program";

/** Room the user-data must leave under Hetzner's limit, so the VM scripts and the issuer can still grow. */
const HEADROOM_BYTES = 4 * 1024;
const key = () => randomBytes(32).toString("hex");

/** The heaviest settings a real host-mode stack is likely to have: OIDC, several keys and origins, long names. */
const HEAVY = {
  domain: "meet.engineering.example-company.com",
  jwtAppId: "jitsi-stack-engineering-production",
  timezone: "America/Los_Angeles",
  enableLobby: "true",
  enablePrejoin: "true",
  issuerTarget: "host",
  jwtAppSecret: key(),
  issuerApiKeys: JSON.stringify(Array.from({ length: 6 }, key)),
  issuerCorsOrigins: JSON.stringify(
    ["app", "admin", "portal", "intranet", "support", "staging-app"].map(
      (name) => `https://${name}.engineering.example-company.com`,
    ),
  ),
  issuerMaxTtlSeconds: "86400",
  issuerRateLimitPerMinute: "10000",
  issuerAllowAllRooms: "true",
  issuerOidcIssuer: "https://login.identity-provider.example-company.com/realms/engineering-production/",
  issuerOidcAudience: "jitsi-stack-engineering-meetings-client",
  issuerOidcJwksUrl:
    "https://login.identity-provider.example-company.com/realms/engineering-production/protocol/openid-connect/certs",
  issuerOidcModeratorGroup: "engineering-meeting-moderators",
  issuerOidcAlgorithms: JSON.stringify(OIDC_ALGORITHMS),
  issuerOidcNameClaim: "preferred_username",
  issuerOidcEmailClaim: "email_address",
  issuerOidcGroupsClaim: "realm_access.roles",
  issuerOidcRooms: JSON.stringify([
    "standup-*",
    "team-*",
    "all-hands",
    "incident-*",
    "customer-*",
    "interview-*",
  ]),
};

async function hostUserData(overrides: Record<string, string>, secretKeys: string[] = []): Promise<string> {
  const run = await runProgram(exampleConfig(overrides, secretKeys));
  const server = ofType(run, "hcloud:index/server:Server")[0]!;
  return String(revealSecrets(server.inputs.userData));
}

function expectHeadroom(label: string, userData: string): void {
  const size = Buffer.byteLength(userData);
  const budget = USER_DATA_LIMIT_BYTES - HEADROOM_BYTES;
  expect(
    size,
    `${label}: host-mode user-data is ${size} bytes, ${USER_DATA_LIMIT_BYTES - size} under Hetzner's ${USER_DATA_LIMIT_BYTES}; it must stay at or under ${budget} (${HEADROOM_BYTES} bytes of headroom)`,
  ).toBeLessThanOrEqual(budget);
}

describe("user-data with the issuer on the VM", () => {
  it("keeps 4 KiB of headroom under Hetzner's 32 KiB for the example stack", async () => {
    expectHeadroom("example stack", await hostUserData({ issuerTarget: "host" }));
  });

  it("keeps 4 KiB of headroom with the heaviest settings, and stays a valid cloud-config", async () => {
    const userData = await hostUserData(HEAVY, ["jwtAppSecret", "issuerApiKeys"]);
    const written = writtenFiles(userData)
      .map((f) => f.content)
      .join("\n");
    expect(written).toContain(`JWT_APP_ID=${HEAVY.jwtAppId}`);
    expect(written).toContain("ISSUER_OIDC_JWKS_URL=");
    expectHeadroom("heavy settings", userData);
    const schema = await cloudInitSchema(userData);
    expect(schema.ok, schema.output).toBe(true);
  });
});
