import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ISSUER_HOST_LAYOUT, ISSUER_NODE_IMAGE, renderIssuerHost } from "../../../infra/render/issuerHost";
import { configFromEnv } from "../../../issuer/config";
import { REFERENCE_DIR, settingsWith } from "../../helpers/settings";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const BASE_COMPOSE = path.join(ROOT, REFERENCE_DIR, "docker-compose.yml");
const SECRETS = { jwtAppSecret: "s".repeat(40), apiKeys: ["a".repeat(40), "b".repeat(40)] };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Compose = { services: Record<string, Record<string, any>>; networks?: Record<string, unknown> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const render = (overrides: Record<string, string> = {}) =>
  renderIssuerHost({
    settings: settingsWith({ issuerTarget: "host", ...overrides }),
    bundle: "// bundle",
    secrets: SECRETS,
  });
const fileAt = (r: ReturnType<typeof render>, p: string) => r.files.find((f) => f.path === p)!;

describe("issuer on the VM (host target)", () => {
  it("writes the bundle, the compose override and the nginx location, none of them holding a secret", () => {
    const r = render();
    expect(r.files.map((f) => f.path).sort()).toEqual(
      [ISSUER_HOST_LAYOUT.bundle, ISSUER_HOST_LAYOUT.composeFile, ISSUER_HOST_LAYOUT.nginxConf].sort(),
    );
    expect(r.composeFile).toBe("/opt/jitsi/docker-compose.issuer.yml");
    expect(ISSUER_HOST_LAYOUT.nginxConf).toBe("/opt/jitsi/managed-config/web/nginx-custom/token-issuer.conf");
    const all = JSON.stringify(r.files);
    for (const s of [SECRETS.jwtAppSecret, ...SECRETS.apiKeys]) expect(all).not.toContain(s);
  });

  it("runs the issuer read-only as uid 1000 in the pinned node image, on Jitsi's network, with its env file", () => {
    const r = render();
    const override = parse(fileAt(r, r.composeFile).content) as Compose;
    const base = parse(readFileSync(BASE_COMPOSE, "utf8")) as Compose;
    const svc = override.services[ISSUER_HOST_LAYOUT.service]!;
    expect(svc.image).toBe(ISSUER_NODE_IMAGE);
    expect(ISSUER_NODE_IMAGE).toMatch(/^node:\d+\.\d+\.\d+-/);
    expect(svc).toMatchObject({ read_only: true, user: "1000:1000", env_file: [r.envFile] });
    expect(svc.volumes).toEqual([`${ISSUER_HOST_LAYOUT.bundle}:/app/issuer.mjs:ro`]);
    for (const net of Object.keys(svc.networks)) expect(Object.keys(base.networks ?? {})).toContain(net);
    expect(Object.keys(base.services)).not.toContain(ISSUER_HOST_LAYOUT.service);
    expect(svc.ports).toBeUndefined();
  });

  it("proxies /token/ from Jitsi's web container to the issuer service", () => {
    const conf = fileAt(render(), ISSUER_HOST_LAYOUT.nginxConf).content;
    // ^~ so upstream meet.conf's regex location for tenant paths cannot rewrite /token/... first.
    expect(conf).toMatch(/location \^~ \/token\/ \{/);
    expect(conf).toContain(`http://${ISSUER_HOST_LAYOUT.service}:${ISSUER_HOST_LAYOUT.port}`);
    // The issuer limits failed sign-ins per client address: nginx passes the TCP peer it saw.
    expect(conf).toMatch(/^\s*proxy_set_header X-Real-IP \$remote_addr;$/m);
    const braces = conf.replace(/[^{}]/g, "");
    expect(braces).toBe("{}{}");
  });

  it("gives env entries the issuer accepts, secrets marked as such", () => {
    const r = render({ issuerCorsOrigins: '["https://app.example.com"]', issuerMaxTtlSeconds: "900" });
    const secretNames = r.envEntries.filter((e) => e.secret).map((e) => e.name);
    expect(secretNames.sort()).toEqual(["ISSUER_API_KEYS", "JWT_APP_SECRET"]);
    const config = configFromEnv(Object.fromEntries(r.envEntries.map((e) => [e.name, e.value])));
    expect(config).toMatchObject({
      appId: "jitsi-stack",
      domain: "meet.example.com",
      apiKeys: SECRETS.apiKeys,
      maxTtlSeconds: 900,
      corsOrigins: ["https://app.example.com"],
    });
  });

  it("passes OIDC and room policy settings through to the issuer", () => {
    const r = render({
      issuerOidcIssuer: "https://login.example.com/",
      issuerOidcAudience: "app",
      issuerOidcJwksUrl: "https://login.example.com/jwks",
      issuerOidcModeratorGroup: "hosts",
      issuerOidcRooms: '["team-*"]',
    });
    const config = configFromEnv(Object.fromEntries(r.envEntries.map((e) => [e.name, e.value])));
    expect(config.oidc).toMatchObject({
      audience: "app",
      moderatorGroup: "hosts",
      rooms: ["team-*"],
      algorithms: ["RS256", "ES256"],
    });
  });

  // Debian's docker-compose 1.29 (test/setup/system-packages.txt): a real validator, no Docker engine needed.
  it("is a valid override of docker-jitsi-meet's compose file for docker-compose config", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "issuer-compose-"));
    dirs.push(dir);
    const r = render();
    const override = parse(fileAt(r, r.composeFile).content) as Compose;
    // `config` reads the env file, which only exists on the VM: point it at an empty one here.
    override.services[ISSUER_HOST_LAYOUT.service]!.env_file = [path.join(dir, "issuer.env")];
    writeFileSync(path.join(dir, "issuer.env"), "");
    writeFileSync(path.join(dir, "override.yml"), stringify(override));
    writeFileSync(path.join(dir, ".env"), "CONFIG=/opt/jitsi/state/config\nHTTP_PORT=80\nHTTPS_PORT=443\n");
    const run = spawnSync(
      "docker-compose",
      ["--project-directory", dir, "-f", BASE_COMPOSE, "-f", path.join(dir, "override.yml"), "config"],
      { encoding: "utf8", cwd: dir },
    );
    expect(run.stderr.split("\n").filter((l) => /ERROR/i.test(l))).toEqual([]);
    expect(run.status).toBe(0);
    const merged = parse(run.stdout) as Compose;
    expect(merged.services[ISSUER_HOST_LAYOUT.service]).toMatchObject({
      read_only: true,
      user: "1000:1000",
    });
    // The override joins the release's services rather than replacing them.
    expect(merged.services.web).toMatchObject({ image: expect.stringMatching(/\/web:/) });
  });

  it("refuses a setting with a line break rather than writing a broken env file", () => {
    expect(() =>
      renderIssuerHost({
        settings: settingsWith({ issuerTarget: "host" }),
        bundle: "",
        secrets: { jwtAppSecret: "x".repeat(40), apiKeys: ["k\nINJECTED=1"] },
      }),
    ).toThrow(/ISSUER_API_KEYS must not contain a line break/);
  });
});
