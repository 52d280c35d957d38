import type { Settings } from "../../config/schema";
import type { EnvName } from "../../issuer/config";

/** The issuer settings that are secrets: Worker `secret_text` bindings, or the VM's env file kept out of plain files. */
export const ISSUER_SECRET_ENV = ["JWT_APP_SECRET", "ISSUER_API_KEYS"] as const satisfies readonly EnvName[];

/**
 * The issuer's non-secret environment, derived from the stack settings: the same names serve the
 * Worker's `plain_text` bindings and the VM container's env file (see issuer/config.ts).
 */
export function issuerPlainEnv(settings: Settings): Partial<Record<EnvName, string>> {
  const { issuer } = settings;
  const env: Partial<Record<EnvName, string>> = {
    JWT_APP_ID: settings.jwtAppId,
    JITSI_DOMAIN: settings.domain,
    ISSUER_MAX_TTL_SECONDS: String(issuer.maxTtlSeconds),
    ISSUER_RATE_LIMIT_PER_MINUTE: String(issuer.rateLimitPerMinute),
    ISSUER_ALLOW_ALL_ROOMS: String(issuer.allowAllRooms),
    ISSUER_CORS_ORIGINS: issuer.corsOrigins.join(","),
  };
  const { oidc } = issuer;
  if (oidc) {
    Object.assign(env, {
      ISSUER_OIDC_ISSUER: oidc.issuer,
      ISSUER_OIDC_AUDIENCE: oidc.audience,
      ISSUER_OIDC_JWKS_URL: oidc.jwksUrl,
      ISSUER_OIDC_ALGORITHMS: oidc.algorithms.join(","),
      ISSUER_OIDC_NAME_CLAIM: oidc.nameClaim,
      ISSUER_OIDC_EMAIL_CLAIM: oidc.emailClaim,
      ISSUER_OIDC_GROUPS_CLAIM: oidc.groupsClaim,
      ISSUER_OIDC_ROOMS: oidc.rooms.join(","),
      ...(oidc.moderatorGroup ? { ISSUER_OIDC_MODERATOR_GROUP: oidc.moderatorGroup } : {}),
    });
  }
  // Empty values are left out: an empty binding or env line means "unset" anyway.
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")) as Partial<
    Record<EnvName, string>
  >;
}
