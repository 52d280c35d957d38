import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bridgeEnvEntries, meetingBridgeEntries } from "../../../infra/render/bridgeEnv";
import { composeConfig } from "../../helpers/compose";
import { fakePasswords, renderedEnv, settingsWith } from "../../helpers/settings";
import { RELEASE_DIR, renderTemplate, variablesReceivedBy } from "../../helpers/tpl";

const PASSWORD = fakePasswords().JVB_AUTH_PASSWORD;
const IPS = ["203.0.113.51", "2001:db8:4a1:7e00::1"];
const envFor = (overrides: Record<string, string>, index = 2) => {
  const settings = settingsWith({ bridges: "3", bridgeLocations: '["fsn1","hel1"]', ...overrides });
  const entries = bridgeEnvEntries({
    settings,
    bridge: settings.bridges.bridges[index - 1]!,
    jvbPassword: PASSWORD,
    advertiseIps: IPS,
  });
  return Object.fromEntries(entries.map((e) => [e.name, e.value]));
};
/** The variables compose itself reads to build the jvb service (image tag, restart policy, volumes). */
function interpolatedByJvb(): Set<string> {
  const compose = readFileSync(path.join(RELEASE_DIR, "docker-compose.yml"), "utf8");
  const jvb = compose.slice(compose.indexOf("\n    jvb:"), compose.indexOf("\nnetworks:"));
  const used = [...jvb.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!);
  const rows = readFileSync(path.join(RELEASE_DIR, "VARIABLES.tsv"), "utf8").split("\n");
  const interpolation = new Set(
    rows.filter((r) => r.includes("\t(compose interpolation)\t")).map((r) => r.split("\t")[2]),
  );
  return new Set(used.filter((v) => interpolation.has(v)));
}
/** Read by compose for the web service, not jvb: without them compose refuses the whole file (test below). */
const LOADS_THE_FILE = ["HTTP_PORT", "HTTPS_PORT"];
const jvbConf = (env: Record<string, string>) =>
  renderTemplate("jvb", "jvb.conf", env, { LOCAL_ADDRESS: "172.18.0.3", HOSTNAME: "3f2a1b" });

describe("a bridge's .env", () => {
  it("holds only variables the jvb service receives (VARIABLES.tsv) or that compose reads to build it", () => {
    const received = variablesReceivedBy("jvb");
    const compose = interpolatedByJvb();
    expect(compose).toContain("CONFIG");
    expect(compose).toContain("JITSI_IMAGE_VERSION");
    for (const octo of ["true", "false"]) {
      const names = Object.keys(envFor({ octo }));
      expect(
        names.filter((n) => !received.has(n) && !compose.has(n) && !LOADS_THE_FILE.includes(n)),
        `octo ${octo}`,
      ).toEqual([]);
    }
  });

  it("lets docker-compose load the release's file and build jvb, which it refuses without the web ports", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bridge-env-"));
    try {
      const text = (env: Record<string, string>) =>
        Object.entries(env)
          .map(([name, value]) => `${name}=${value}`)
          .join("\n") + "\n";
      const env = envFor({ octo: "true" });
      const loaded = composeConfig(dir, [], text(env));
      expect(loaded.status, loaded.stderr).toBe(0);
      expect(loaded.services!.jvb!.image).toBe("ghcr.io/jitsi/jvb:stable-11146-2");
      const withoutPorts = Object.fromEntries(
        Object.entries(env).filter(([name]) => !LOADS_THE_FILE.includes(name)),
      );
      const refused = composeConfig(dir, [], text(withoutPorts));
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/services\.web\.ports/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the meeting VM's pinned image tag and shares its JVB password", () => {
    const env = envFor({});
    expect(env.JITSI_IMAGE_VERSION).toBe("stable-11146-2");
    expect(env.JVB_AUTH_PASSWORD).toBe(renderedEnv().JVB_AUTH_PASSWORD);
  });

  it("reaches Prosody on the meeting VM's private address, in the brewery jicofo reads", () => {
    const conf = jvbConf(envFor({}));
    const shard = /shard0 \{([\s\S]*?)\}/.exec(conf)![1]!;
    expect(shard).toMatch(/HOSTNAME = "10\.0\.0\.2"/);
    expect(shard).toMatch(/PORT = "5222"/);
    expect(shard).toMatch(/DOMAIN = "auth\.meet\.jitsi"/);
    expect(shard).toMatch(/USERNAME = "jvb"/);
    expect(shard).toContain(`PASSWORD = "${PASSWORD}"`);
    expect(shard).toMatch(/MUC_JIDS = "jvbbrewery@internal-muc\.meet\.jitsi"/);
    expect(conf).not.toMatch(/shard1/);
    // jicofo on the meeting VM looks for bridges in exactly that room.
    const jicofo = renderTemplate("jicofo", "jicofo.conf", renderedEnv({ bridges: "1" }));
    expect(jicofo).toMatch(/brewery-jid = "jvbbrewery@internal-muc\.meet\.jitsi"/);
  });

  it("turns on the COLIBRI REST API (/colibri/stats, read by drain and verify), published on 127.0.0.1 only", () => {
    const apisRest = (conf: string) => /\n {4}apis \{[\s\S]*?\n\s*rest \{\s*enabled = (\w+)/.exec(conf)?.[1];
    expect(apisRest(jvbConf(envFor({})))).toBe("true");
    // The template's default, which jvb's own reference.conf shares: off, and /colibri/stats answers 404.
    expect(apisRest(jvbConf({ ...envFor({}), COLIBRI_REST_ENABLED: "" }))).toBe("false");
    const compose = readFileSync(path.join(RELEASE_DIR, "docker-compose.yml"), "utf8");
    expect(compose).toContain("'127.0.0.1:${JVB_COLIBRI_PORT:-8080}:8080'");
  });

  it("advertises the bridge's own public addresses, under a nickname unique and stable for its number", () => {
    const conf = jvbConf(envFor({}, 2));
    const mappings = [...conf.matchAll(/public-address = "([^"]+)"/g)].map((m) => m[1]);
    expect(mappings).toEqual(IPS);
    expect(conf).toMatch(/MUC_NICKNAME = "bridge-2"/);
    // Without the setting the nickname would be the container's hostname, new with every container.
    expect(jvbConf({ ...envFor({}, 2), JVB_MUC_NICKNAME: "" })).toMatch(/MUC_NICKNAME = "3f2a1b"/);
    const nicknames = [1, 2, 3].map((i) => envFor({}, i).JVB_MUC_NICKNAME);
    expect(new Set([...nicknames, "meeting"]).size).toBe(4);
  });

  it("with Octo, relays in its location's region under a relay id no other bridge has; without, no relay", () => {
    const on = jvbConf(envFor({ octo: "true" }, 2));
    expect(/relay \{([\s\S]*?)\}/.exec(on)![1]).toMatch(
      /enabled = true\s+region = "hel1"\s+relay-id = "bridge-2"/,
    );
    expect(/relay \{([\s\S]*?)\}/.exec(jvbConf(envFor({ octo: "true" }, 1)))![1]).toMatch(
      /region = "fsn1"\s+relay-id = "bridge-1"/,
    );
    expect(jvbConf(envFor({ octo: "false" }))).not.toMatch(/relay \{/);
  });
});

describe("the meeting VM's .env with extra bridges", () => {
  it("is unchanged without extra bridges", () => {
    expect(meetingBridgeEntries(settingsWith({}))).toEqual([]);
    expect(renderedEnv()).not.toHaveProperty("JICOFO_ENABLE_REST");
  });

  it("turns Octo on in jicofo and in its own bridge, with region-based selection and its location as region", () => {
    const env = renderedEnv({ bridges: "2", octo: "true", location: "nbg1" });
    const jicofo = renderTemplate("jicofo", "jicofo.conf", env);
    expect(jicofo).toMatch(/octo \{[^}]*enabled = true/);
    expect(jicofo).toMatch(/local-region = "nbg1"/);
    expect(jicofo).toMatch(/selection-strategy = "RegionBasedBridgeSelectionStrategy"/);
    const own = jvbConf(env);
    expect(/relay \{([\s\S]*?)\}/.exec(own)![1]).toMatch(/region = "nbg1"\s+relay-id = "meeting"/);
    expect(own).toMatch(/MUC_NICKNAME = "meeting"/);
    const off = renderTemplate("jicofo", "jicofo.conf", renderedEnv({ bridges: "2" }));
    expect(off).toMatch(/octo \{[^}]*enabled = false/);
  });

  it("opens jicofo's REST API inside its container, for verify over SSH (published on 127.0.0.1 only)", () => {
    const jicofo = renderTemplate("jicofo", "jicofo.conf", renderedEnv({ bridges: "1" }));
    expect(jicofo).toMatch(/rest \{\s*host = "0\.0\.0\.0"/);
    const compose = readFileSync(path.join(RELEASE_DIR, "docker-compose.yml"), "utf8");
    expect(compose).toContain("'127.0.0.1:${JICOFO_REST_PORT:-8888}:8888'");
  });
});
