import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryJoin } from "../../scripts/lib/verify/xmpp";
import {
  applyOverrides,
  type JitsiProsody,
  loopbackOverrides,
  MAIN_CONFIG,
  renderReleaseConfig,
  scriptExports,
  startJitsiProsody,
} from "./jitsiProsody";
import { renderedEnv } from "./settings";

const PATHS = { dir: "/tmp/x", httpPort: 5281, c2sPort: 5223 };
const SITE = "conf.d/jitsi-meet.cfg.lua";

describe("the test Prosody is configured exactly as the release's container would be", () => {
  it("takes what the start script exports before it renders: PROSODY_MODE=client and the jitsi-meet site file", () => {
    expect(scriptExports(renderedEnv())).toEqual({
      extra: { PROSODY_MODE: "client" },
      siteTemplate: "jitsi-meet.cfg.lua",
    });
    // A value the .env sets is the container's, not an export.
    expect(scriptExports({ ...renderedEnv(), PROSODY_MODE: "client" }).extra).toEqual({});
  });

  it("refuses the modes it does not emulate, with the reason", () => {
    expect(() => scriptExports({ ...renderedEnv(), PROSODY_MODE: "brewery" })).toThrow(
      /only PROSODY_MODE=client is emulated \(got 'brewery'\)/,
    );
    expect(() => scriptExports({ ...renderedEnv(), AUTH_TYPE: "ldap" })).toThrow(/ldap/);
  });

  const rendered = renderReleaseConfig(renderedEnv());
  it.each(loopbackOverrides(SITE, "meet.jitsi", PATHS).map((o) => [o.why, o] as const))(
    "override still matches the rendered template: %s",
    (_why, override) => {
      expect(() => applyOverrides(rendered, [override])).not.toThrow();
    },
  );

  it("an override that no longer matches stops the start and names itself", () => {
    const drifted = {
      ...rendered,
      [MAIN_CONFIG]: rendered[MAIN_CONFIG]!.replace("c2s_ports = { 5222 }", ""),
    };
    expect(() => applyOverrides(drifted, loopbackOverrides(SITE, "meet.jitsi", PATHS))).toThrow(
      /override "a free port on loopback instead of 5222 on every interface" expects 1 × 'c2s_ports = \{ 5222 \}' in prosody.cfg.lua but found 0/,
    );
  });
});

describe("the test Prosody, started from the rendered .env", () => {
  let prosody: JitsiProsody;
  beforeAll(async () => {
    prosody = await startJitsiProsody(renderedEnv());
  });
  afterAll(async () => prosody?.stop());

  it("loads every module that each host's configuration enables", () => {
    const hosts = prosody.hosts();
    expect(hosts).toEqual(expect.arrayContaining(["meet.jitsi", "auth.meet.jitsi", "muc.meet.jitsi"]));
    expect(prosody.missingModulesByHost()).toEqual(Object.fromEntries(hosts.map((h) => [h, []])));
  });

  it("runs the modules the stack relies on: token auth, affiliation from the token, guests waiting for a host", () => {
    expect(prosody.loadedModules("meet.jitsi")).toEqual(
      expect.arrayContaining(["auth_token", "websocket", "persistent_lobby", "muc_lobby_rooms"]),
    );
    expect(prosody.loadedModules("muc.meet.jitsi")).toEqual(
      expect.arrayContaining([
        "token_verification",
        "token_affiliation",
        "muc_wait_for_host",
        "muc_meeting_id",
      ]),
    );
    expect(prosody.hosts()).toEqual(expect.arrayContaining(["guest.meet.jitsi", "lobby.meet.jitsi"]));
  });

  it("acts as jicofo: focus answers a client's conference request by opening the room", async () => {
    expect(prosody.focus.rooms()).toEqual([]);
    const outcome = await tryJoin(prosody.target, {
      room: "harness-smoke",
      nick: "someone",
      settleMs: 0,
      timeoutMs: 10_000,
    });
    // No token: Prosody refuses the login before any room is asked for.
    expect(outcome).toMatchObject({ kind: "refused", stage: "sasl", text: "token required" });
    await prosody.focus.openRoom("harness-smoke");
    expect(prosody.focus.rooms()).toEqual(["harness-smoke"]);
    await prosody.focus.closeRoom("harness-smoke");
  });
});
