import { type Settings, validateSettings } from "../../config/schema";
import { meetingBridgeEntries } from "../../infra/render/bridgeEnv";
import { turnEnvEntries } from "../../infra/render/turnEnv";
import { INTERNAL_PASSWORDS, type InternalPassword, jitsiEnvEntries } from "../../infra/render/jitsiEnv";

/** The reference upstream data the tests check against (docker-jitsi-meet stable-11146-2). */
export const REFERENCE_DIR = "../shared/reference/docker-jitsi-meet-stable-11146-2";

/** Valid settings in Pulumi's string form, for tests to vary. */
export const GOOD_RAW: Record<string, string> = {
  domain: "meet.example.com",
  cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
  cloudflareAccountId: "01a7362d577a6c3019a474fd6f485823",
  acmeEmail: "ops@example.com",
  sshPublicKeys: JSON.stringify(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLE ops@example"]),
  adminCidrs: JSON.stringify(["203.0.113.7/32", "2001:db8:1234::/48"]),
};

export function settingsWith(overrides: Record<string, string> = {}): Settings {
  const result = validateSettings("test", { ...GOOD_RAW, ...overrides });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.settings;
}

/** Distinct, recognisable fake passwords. */
export function fakePasswords(): Record<InternalPassword, string> {
  return Object.fromEntries(
    INTERNAL_PASSWORDS.map((name, i) => [name, `pw${i}x${"0123456789abcdef".repeat(2)}`]),
  ) as Record<InternalPassword, string>;
}

/** The HS256 secret of the rendered test `.env`. */
export const TEST_JWT_SECRET = "3f".repeat(32);

/** The TURN relay's shared secret in the rendered test `.env` (TURN_CREDENTIALS) and coturn's configuration. */
export const TEST_TURN_SECRET = "6d".repeat(24);

/** The `.env` our program renders for settings with these overrides, as name -> value. */
export function renderedEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const settings = settingsWith(overrides);
  const entries = jitsiEnvEntries({
    settings,
    jwtAppSecret: TEST_JWT_SECRET,
    passwords: fakePasswords(),
    advertiseIps: ["203.0.113.10", "2001:db8:4a1:7e00::1"],
    // As infra/userData.ts adds them.
    extraEntries: [...turnEnvEntries(settings.turn, TEST_TURN_SECRET), ...meetingBridgeEntries(settings)],
  });
  return Object.fromEntries(entries.map((e) => [e.name, e.value]));
}
