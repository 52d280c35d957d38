import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatEnv, INTERNAL_PASSWORDS, jitsiEnvEntries } from "../../../infra/render/jitsiEnv";
import { fakePasswords, REFERENCE_DIR, settingsWith } from "../../helpers/settings";
import { renderTemplate } from "../../helpers/tpl";

const JWT_SECRET = "3f".repeat(32);
const entriesFor = (overrides: Record<string, string> = {}) =>
  jitsiEnvEntries({
    settings: settingsWith(overrides),
    jwtAppSecret: JWT_SECRET,
    passwords: fakePasswords(),
    advertiseIps: ["203.0.113.10", "2001:db8:4a1:7e00::1"],
  });
const envMap = (overrides: Record<string, string> = {}) =>
  Object.fromEntries(entriesFor(overrides).map((e) => [e.name, e.value]));

/** variable -> the containers (or compose interpolation) that receive it, from the release's VARIABLES.tsv. */
function receivers(): Map<string, string[]> {
  const rows = readFileSync(path.join(REFERENCE_DIR, "VARIABLES.tsv"), "utf8").trim().split("\n").slice(1);
  const map = new Map<string, string[]>();
  for (const row of rows) {
    const [file, service, variable] = row.split("\t");
    map.set(variable!, [...(map.get(variable!) ?? []), `${file}/${service}`]);
  }
  return map;
}

describe("Jitsi .env", () => {
  it("sets only variables that some container (or the compose file itself) receives in this release", () => {
    const known = receivers();
    expect(known.size).toBeGreaterThan(300);
    const unknown = entriesFor()
      .filter((e) => !known.has(e.name))
      .map((e) => e.name);
    expect(unknown).toEqual([]);
  });

  it("does not carry over the removed JVB_ENABLE_APIS", () => {
    expect(receivers().has("JVB_ENABLE_APIS")).toBe(false);
    expect(envMap()).not.toHaveProperty("JVB_ENABLE_APIS");
  });

  it("publishes the web container on 80/443 with Let's Encrypt (not ZeroSSL) and an HTTPS redirect", () => {
    expect(envMap()).toMatchObject({
      HTTP_PORT: "80",
      HTTPS_PORT: "443",
      PUBLIC_URL: "https://meet.example.com",
      ENABLE_LETSENCRYPT: "1",
      LETSENCRYPT_DOMAIN: "meet.example.com",
      LETSENCRYPT_EMAIL: "ops@example.com",
      LETSENCRYPT_ACME_SERVER: "letsencrypt",
      LETSENCRYPT_USE_STAGING: "0",
      ENABLE_HTTP_REDIRECT: "1",
    });
    expect(envMap({ acmeStaging: "true" }).LETSENCRYPT_USE_STAGING).toBe("1");
  });

  it("with jitsi:acmeStaging, names Let's Encrypt's staging server, since acme.sh ignores --staging beside --server", () => {
    expect(envMap({ acmeStaging: "true" }).LETSENCRYPT_ACME_SERVER).toBe("letsencrypt_test");
    // The release's web container passes both flags; the named server is the one acme.sh uses.
    const script = readFileSync(path.join(REFERENCE_DIR, "web/rootfs/etc/s6-overlay/scripts/config"), "utf8");
    expect(script).toContain('ACME_SERVER="--set-default-ca --server $LETSENCRYPT_ACME_SERVER"');
    expect(script).toMatch(/\$STAGING \\\n\s+\$ACME_SERVER \\\n\s+--issue/);
  });

  it("turns prejoin off by default, and follows the switches", () => {
    expect(envMap()).toMatchObject({ ENABLE_PREJOIN_PAGE: "0", ENABLE_GUESTS: "1" });
    expect(envMap({ enablePrejoin: "true", enableGuests: "false" })).toMatchObject({
      ENABLE_PREJOIN_PAGE: "1",
      ENABLE_GUESTS: "0",
    });
  });

  it("has the lobby component when jitsi:enableLobby asks for it, and whenever guests must wait there", () => {
    const lobby = (enableLobby: string, enableGuests: string) =>
      envMap({ enableLobby, enableGuests }).ENABLE_LOBBY;
    expect([
      lobby("false", "false"),
      lobby("true", "false"),
      lobby("false", "true"),
      lobby("true", "true"),
    ]).toEqual(["0", "1", "1", "1"]);
  });

  it("requires a token: JWT auth with the app id as issuer and audience, and no empty tokens", () => {
    expect(envMap({ jwtAppId: "my-app" })).toMatchObject({
      ENABLE_AUTH: "1",
      AUTH_TYPE: "jwt",
      JWT_APP_ID: "my-app",
      JWT_APP_SECRET: JWT_SECRET,
      JWT_ACCEPTED_ISSUERS: "my-app",
      JWT_ACCEPTED_AUDIENCES: "my-app",
      JWT_ALLOW_EMPTY: "0",
    });
  });

  it("lets context.user.moderator decide who moderates: jicofo grants nothing, token_affiliation decides", () => {
    expect(envMap({ enableGuests: "false" })).toMatchObject({
      JICOFO_ENABLE_AUTH: "0",
      ENABLE_AUTO_OWNER: "0",
      XMPP_MUC_MODULES: "token_affiliation",
    });
    expect(envMap({ enableGuests: "false" })).not.toHaveProperty("XMPP_MODULES");
    expect(envMap({ enableGuests: "false" })).not.toHaveProperty("WAIT_FOR_HOST_DISABLE_AUTO_OWNERS");
  });

  it("with guests, holds them in the lobby until a token holder is in (muc_wait_for_host and what it needs)", () => {
    expect(envMap()).toMatchObject({
      ENABLE_GUESTS: "1",
      XMPP_MUC_MODULES: "token_affiliation,muc_wait_for_host",
      XMPP_MODULES: "persistent_lobby",
      ENABLE_LOBBY: "1",
      WAIT_FOR_HOST_DISABLE_AUTO_OWNERS: "1",
    });
  });

  it("passes each moderation and rate-limit variable to the container that reads it", () => {
    const known = receivers();
    const readers: [string, string][] = [
      ["JICOFO_ENABLE_AUTH", "jicofo"],
      ["ENABLE_AUTO_OWNER", "jicofo"],
      ["XMPP_MUC_MODULES", "prosody"],
      ["XMPP_MODULES", "prosody"],
      ["ENABLE_LOBBY", "prosody"],
      ["WAIT_FOR_HOST_DISABLE_AUTO_OWNERS", "prosody"],
      ["PROSODY_ENABLE_RATE_LIMITS", "prosody"],
      ["PROSODY_RATE_LIMIT_ALLOW_RANGES", "prosody"],
      ["PROSODY_TRUSTED_PROXIES", "prosody"],
    ];
    for (const [name, service] of readers)
      expect(known.get(name), name).toContain(`docker-compose.yml/${service}`);
  });

  it("advertises both primary IPs to clients and pins the images to the release", () => {
    expect(envMap()).toMatchObject({
      JVB_ADVERTISE_IPS: "203.0.113.10,2001:db8:4a1:7e00::1",
      JITSI_IMAGE_VERSION: "stable-11146-2",
      CONFIG: "/opt/jitsi/state/config",
      TZ: "UTC",
    });
  });

  it("sets every internal password, each marked secret", () => {
    const entries = entriesFor();
    for (const name of INTERNAL_PASSWORDS) {
      const entry = entries.find((e) => e.name === name);
      expect(entry?.secret, name).toBe(true);
      expect(entry?.value).toBe(fakePasswords()[name]);
    }
    expect(entries.filter((e) => e.secret).map((e) => e.name)).toEqual([
      "JWT_APP_SECRET",
      ...INTERNAL_PASSWORDS,
    ]);
  });

  it("redacts every secret when asked, and only then", () => {
    const entries = entriesFor();
    const redacted = formatEnv(entries, { redact: true });
    expect(redacted).not.toContain(JWT_SECRET);
    for (const pw of Object.values(fakePasswords())) expect(redacted).not.toContain(pw);
    expect(redacted).toContain("JWT_APP_SECRET=[secret]");
    expect(formatEnv(entries)).toContain(`JWT_APP_SECRET=${JWT_SECRET}`);
  });

  it("refuses values that would need quoting, and empty passwords, without printing secrets", () => {
    const render = (jwtAppSecret: string, passwords = fakePasswords()) =>
      jitsiEnvEntries({ settings: settingsWith(), jwtAppSecret, passwords, advertiseIps: ["203.0.113.10"] });
    expect(() => render("has space and $dollar".repeat(3))).toThrow(
      /JWT_APP_SECRET has a secret value with characters that would need quoting/,
    );
    expect(() => render("has space and $dollar".repeat(3))).not.toThrow(/dollar/);
    expect(() => render(JWT_SECRET, { ...fakePasswords(), JVB_AUTH_PASSWORD: "" })).toThrow(
      /JVB_AUTH_PASSWORD is an empty secret/,
    );
  });
});

describe("Prosody's rate limits", () => {
  it("are on, sparing the compose network and the private network, with the web container as trusted proxy", () => {
    expect(envMap()).toMatchObject({
      PROSODY_ENABLE_RATE_LIMITS: "1",
      PROSODY_RATE_LIMIT_ALLOW_RANGES: "172.16.0.0/12,192.168.0.0/16,10.0.0.0/16",
      PROSODY_TRUSTED_PROXIES: "127.0.0.1,::1,172.16.0.0/12,192.168.0.0/16",
    });
  });

  it("cover the subnet-less compose network the release defines", () => {
    const compose = readFileSync(path.join(REFERENCE_DIR, "docker-compose.yml"), "utf8");
    // `meet.jitsi:` with no ipam/subnet: dockerd picks it from its default pools.
    expect(compose.slice(compose.lastIndexOf("\nnetworks:"))).toMatch(
      /^\nnetworks:\n(\s*#.*\n)*\s+meet\.jitsi:\s*$/,
    );
  });
});

describe("jicofo, as the release's jicofo.conf template renders our .env", () => {
  const jicofoConf = (env: Record<string, string>) => renderTemplate("jicofo", "jicofo.conf", env);

  it("has no authentication block (no owner for every authenticated user) and auto-owner off", () => {
    for (const enableGuests of ["true", "false"]) {
      const conf = jicofoConf(envMap({ enableGuests }));
      expect(conf).not.toMatch(/authentication\s*\{/);
      expect(conf).toMatch(/conference \{\s*enable-auto-owner = false/);
    }
  });

  it("would have the JWT authentication block without JICOFO_ENABLE_AUTH=0 (what the fix removes)", () => {
    const { JICOFO_ENABLE_AUTH: _dropped, ...unfixed } = envMap();
    expect(unfixed).toMatchObject({ ENABLE_AUTH: "1", AUTH_TYPE: "jwt" });
    expect(jicofoConf(unfixed)).toMatch(/authentication \{\s*enabled = true[\s\S]*?type = JWT/);
  });
});
