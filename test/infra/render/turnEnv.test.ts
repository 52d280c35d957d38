import { xml } from "@xmpp/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../../../issuer/claims";
import { coturnOptions, formatCoturnConfig } from "../../../infra/render/coturn";
import { jitsiEnvEntries } from "../../../infra/render/jitsiEnv";
import { turnEnvEntries } from "../../../infra/render/turnEnv";
import { type CoturnFixture, startCoturn, uclient } from "../../helpers/coturn";
import { clientSession, type JitsiProsody, startJitsiProsody } from "../../helpers/jitsiProsody";
import {
  fakePasswords,
  renderedEnv,
  settingsWith,
  TEST_JWT_SECRET,
  TEST_TURN_SECRET,
} from "../../helpers/settings";
import { renderTemplate, variablesReceivedBy } from "../../helpers/tpl";

const SECRET = "7e".repeat(20);
const envFor = (overrides: Record<string, string> = {}) => {
  const settings = settingsWith(overrides);
  return Object.fromEntries(
    jitsiEnvEntries({
      settings,
      jwtAppSecret: "3f".repeat(32),
      passwords: fakePasswords(),
      advertiseIps: ["203.0.113.10"],
      extraEntries: turnEnvEntries(settings.turn, SECRET),
    }).map((e) => [e.name, e.value]),
  );
};
/** The global part of the release's prosody.cfg.lua, rendered as the prosody container renders it. */
const prosodyConfig = (env: Record<string, string>) => renderTemplate("prosody", "prosody.cfg.lua", env);

describe("the meeting VM's TURN variables", () => {
  it("are ones the prosody container receives in this release", () => {
    const entries = turnEnvEntries(settingsWith().turn, SECRET);
    expect(entries.map((e) => e.name)).toEqual([
      "TURN_CREDENTIALS",
      "TURN_HOST",
      "TURN_PORT",
      "TURN_TRANSPORT",
      "TURNS_HOST",
      "TURNS_PORT",
      "TURN_TTL",
    ]);
    const received = variablesReceivedBy("prosody");
    expect(entries.filter((e) => !received.has(e.name)).map((e) => e.name)).toEqual([]);
    expect(entries.filter((e) => e.secret).map((e) => e.name)).toEqual(["TURN_CREDENTIALS"]);
  });

  it("make the release's template load external_services with our TURN servers and time-limited credentials", () => {
    const config = prosodyConfig(envFor());
    expect(config).toMatch(/^\s*"external_services";$/m);
    expect(config).toContain(`external_service_secret = "${SECRET}";`);
    const services = [
      ...config.matchAll(
        /\{\s*type = "(turns?)",\s*host = "([^"]+)",\s*port = (\d+),\s*transport = "(\w+)",\s*ttl = (\d+),\s*secret = true,\s*algorithm = "turn",/g,
      ),
    ].map((m) => m.slice(1).join(" "));
    expect(services).toEqual([
      "turn turn.meet.example.com 3478 udp 86400",
      "turn turn.meet.example.com 3478 tcp 86400",
      "turns turn.meet.example.com 443 tcp 86400",
    ]);
    // No static TURN user: nothing but the secret and the algorithm make credentials.
    const block = /external_services = \{[\s\S]*?\n\};/.exec(config)?.[0] ?? "";
    expect(block).not.toMatch(/username|password/);
    expect(block.match(/type = /g)).toHaveLength(3);
  });

  it("follow the settings: hostname, ports and credential lifetime", () => {
    const config = prosodyConfig(
      envFor({
        turnHostname: "relay.example.com",
        turnPort: "3479",
        turnTlsPort: "5349",
        turnCredentialTtlSeconds: "43200",
      }),
    );
    expect(config).toMatch(
      /type = "turns",\s*host = "relay\.example\.com",\s*port = 5349,\s*transport = "tcp",\s*ttl = 43200,/,
    );
    expect(config).toMatch(
      /type = "turn",\s*host = "relay\.example\.com",\s*port = 3479,\s*transport = "udp",/,
    );
  });

  it("are absent with TURN off, and so is external_services", () => {
    expect(turnEnvEntries(settingsWith({ turnEnabled: "false" }).turn, SECRET)).toEqual([]);
    const config = prosodyConfig(envFor({ turnEnabled: "false" }));
    expect(config).not.toContain("external_service");
  });
});

describe("Prosody configured by the release's templates from our .env, and our coturn", () => {
  // Chained as a browser meets them: log in with a token, ask Prosody for external services (XEP-0215,
  // as lib-jitsi-meet does), then allocate at coturn with exactly what Prosody returned.
  let prosody: JitsiProsody;
  let coturn: CoturnFixture;
  beforeAll(async () => {
    [prosody, coturn] = await Promise.all([
      startJitsiProsody(renderedEnv()),
      startCoturn(formatCoturnConfig(coturnOptions({ turn: settingsWith().turn, secret: TEST_TURN_SECRET }))),
    ]);
  });
  afterAll(async () => {
    await Promise.all([prosody?.stop(), coturn?.stop()]);
  });

  interface Service {
    type: string;
    transport: string;
    host: string;
    port: string;
    username: string;
    password: string;
    restricted?: string;
    expires?: string;
  }

  async function externalServices(options: { token?: string; domain?: string }): Promise<Service[]> {
    const session = await clientSession(prosody.target, { room: "turn-check", ...options });
    try {
      const answer = await session.iqCaller.request(
        xml(
          "iq",
          { type: "get", to: options.domain ?? prosody.domain },
          xml("services", { xmlns: "urn:xmpp:extdisco:2" }),
        ),
        10_000,
      );
      return (answer.getChild("services", "urn:xmpp:extdisco:2")?.getChildren("service") ?? []).map(
        (service) => service.attrs as unknown as Service,
      );
    } finally {
      await session.stop();
    }
  }

  const tokenFor = async (room: string) =>
    signRoomToken(
      await importHmacKey(TEST_JWT_SECRET),
      buildRoomClaims(
        { appId: settingsWith().jwtAppId },
        { room, user: { name: "Host" }, moderator: true, ttlSeconds: 300 },
        Date.now() / 1000,
      ),
    );

  it("loads mod_external_services, as the template asks", () => {
    expect(prosody.missingModules(prosody.domain)).toEqual([]);
    expect(prosody.loadedModules(prosody.domain)).toContain("external_services");
  });

  it("gives a token holder our three TURN services with credentials that expire after TURN_TTL", async () => {
    const services = await externalServices({ token: await tokenFor("turn-check") });
    expect(services.map((s) => `${s.type}:${s.host}:${s.port}?transport=${s.transport}`)).toEqual([
      "turn:turn.meet.example.com:3478?transport=udp",
      "turn:turn.meet.example.com:3478?transport=tcp",
      "turns:turn.meet.example.com:443?transport=tcp",
    ]);
    const now = Math.floor(Date.now() / 1000);
    for (const service of services) {
      expect(service.restricted).toBe("1");
      expect(service.username).toMatch(/^\d+$/);
      // Expiry = Prosody's clock at the query + TURN_TTL (86400); allow for the seconds the test takes.
      expect(Number(service.username) - now).toBeGreaterThan(86400 - 120);
      expect(Number(service.username) - now).toBeLessThanOrEqual(86400);
      expect(new Date(service.expires!).getTime() / 1000).toBe(Number(service.username));
    }
  });

  it("those credentials allocate a relay at our coturn over UDP, TCP and TLS", async () => {
    const services = await externalServices({ token: await tokenFor("turn-check") });
    for (const service of services) {
      const transport = service.type === "turns" ? "tls" : (service.transport as "udp" | "tcp");
      const run = await uclient({
        transport,
        port: transport === "tls" ? coturn.tlsPort : coturn.port,
        ca: coturn.ca.caFile,
        username: service.username,
        password: service.password,
      });
      expect(run.allocationFailed, `${transport}: ${run.output}`).toBe(false);
      expect(run.relayed.length, `${transport}: ${run.output}`).toBeGreaterThan(0);
    }
  });

  it("a guest (logged in on the guest domain) gets working credentials too: peer-to-peer calls need them", async () => {
    expect(prosody.guestDomain).toBeDefined();
    const [service] = await externalServices({ domain: prosody.guestDomain });
    expect(service?.type).toBe("turn");
    const run = await uclient({
      transport: "tcp",
      port: coturn.port,
      username: service!.username,
      password: service!.password,
    });
    expect(run.relayed.length, run.output).toBeGreaterThan(0);
  });

  it("a credential changed on the way is refused by coturn", async () => {
    const [service] = await externalServices({ token: await tokenFor("turn-check") });
    const run = await uclient({
      transport: "udp",
      port: coturn.port,
      username: String(Number(service!.username) + 3600),
      password: service!.password,
    });
    expect(run.allocationFailed, run.output).toBe(true);
  });
});
