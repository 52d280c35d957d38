import { describe, expect, it } from "vitest";
import { jitsiEnvEntries } from "../../../infra/render/jitsiEnv";
import { turnEnvEntries } from "../../../infra/render/turnEnv";
import { fakePasswords, settingsWith } from "../../helpers/settings";
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
