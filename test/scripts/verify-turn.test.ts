import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coturnOptions, formatCoturnConfig } from "../../infra/render/coturn";
import { runVerify } from "../../scripts/lib/verify/run";
import { turnAllocate, type TurnEndpoint } from "../../scripts/lib/verify/turn";
import { type ExternalService, judgeServices, turnChecks } from "../../scripts/lib/verify/turnChecks";
import { verifyMain } from "../../scripts/verify";
import { runMain } from "../../scripts/lib/shared/cli";
import { type CoturnFixture, prosodyTurnCredentials, startCoturn } from "../helpers/coturn";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { jitsiConfigJs, startHttpsServer } from "../helpers/https-server";
import { captureIo } from "../helpers/io";
import { type JitsiProsody, startJitsiProsody } from "../helpers/jitsiProsody";
import { renderedEnv, settingsWith, TEST_JWT_SECRET, TEST_TURN_SECRET } from "../helpers/settings";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../../issuer/claims";

const HOSTNAME = "turn.meet.example.com";
const coturnConfig = (secret: string) =>
  formatCoturnConfig(coturnOptions({ turn: settingsWith().turn, secret }));

// The tests of this block share one coturn and run at once: each allocation is its own.
describe.concurrent("verify's TURN client against Debian's coturn", () => {
  let coturn: CoturnFixture;
  beforeAll(async () => {
    coturn = await startCoturn(coturnConfig(TEST_TURN_SECRET));
  });
  afterAll(async () => coturn?.stop());

  const at = (transport: TurnEndpoint["transport"], extra: Partial<TurnEndpoint> = {}): TurnEndpoint => ({
    host: "127.0.0.1",
    port: transport === "tls" ? coturn.tlsPort : coturn.port,
    transport,
    servername: HOSTNAME,
    ca: coturn.ca.ca,
    ...extra,
  });
  const good = () => prosodyTurnCredentials(TEST_TURN_SECRET, 3600);

  it.each(["udp", "tcp", "tls"] as const)(
    "allocates a relay over %s, as a browser does",
    async (transport) => {
      expect(await turnAllocate(at(transport), good(), 5000)).toEqual({
        kind: "allocated",
        relayed: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      });
    },
  );

  it("is refused with 401 for a wrong password and for an expired credential", async () => {
    expect(await turnAllocate(at("tls"), { ...good(), password: "wrong" }, 5000)).toEqual({
      kind: "refused",
      code: 401,
      reason: "Unauthorized",
    });
    const expired = prosodyTurnCredentials(TEST_TURN_SECRET, -60);
    expect(await turnAllocate(at("udp"), expired, 5000)).toMatchObject({ kind: "refused", code: 401 });
  });

  it("checks the relay's TLS certificate: its name and its issuer", async () => {
    expect(await turnAllocate(at("tls", { servername: "other.example.com" }), good(), 5000)).toEqual({
      kind: "error",
      message: expect.stringMatching(/Hostname\/IP does not match certificate's altnames/),
    });
    expect(await turnAllocate(at("tls", { ca: undefined }), good(), 5000)).toEqual({
      kind: "error",
      message: expect.stringMatching(/unable to (get local issuer|verify the first) certificate|self.signed/),
    });
  });

  it("reports a closed port as an error, not a refusal", async () => {
    const outcome = await turnAllocate(at("tcp", { port: 9 }), good(), 2000);
    expect(outcome).toMatchObject({ kind: "error", message: expect.stringMatching(/ECONNREFUSED/) });
  });
});

describe("what Prosody must list", () => {
  const service = (overrides: Partial<ExternalService>): ExternalService => ({
    type: "turns",
    transport: "tcp",
    host: HOSTNAME,
    port: 443,
    username: "1900000000",
    password: "p",
    expires: "2030-03-17T16:53:20Z",
    ...overrides,
  });

  it("a turns: service at the stack's relay, with time-limited credentials", () => {
    expect(judgeServices([service({})], HOSTNAME)).toMatchObject({ ok: true });
    expect(judgeServices([], HOSTNAME).detail).toBe(
      "Prosody lists no TURN service; is TURN_HOST set in the VM's .env?",
    );
    expect(judgeServices([service({ host: "turn.elsewhere.example" })], HOSTNAME).detail).toBe(
      "turns:turn.elsewhere.example:443?transport=tcp is not turn.meet.example.com",
    );
    expect(judgeServices([service({ type: "turn", port: 3478 })], HOSTNAME).detail).toMatch(
      /^no turns: \(TLS\) service among turn:turn\.meet\.example\.com:3478/,
    );
    expect(judgeServices([service({ username: undefined, password: undefined })], HOSTNAME).detail).toMatch(
      /comes without time-limited credentials; is TURN_CREDENTIALS set\?$/,
    );
  });
});

// The tests of this block run at once: each logs in to a room of its own, and a test that needs another
// coturn or Prosody starts its own on free ports.
describe.concurrent("verify's TURN rows against Prosody as our .env configures it, and our coturn", () => {
  let prosody: JitsiProsody;
  let coturn: CoturnFixture;
  beforeAll(async () => {
    [prosody, coturn] = await Promise.all([
      startJitsiProsody(renderedEnv()),
      startCoturn(coturnConfig(TEST_TURN_SECRET)),
    ]);
  });
  afterAll(async () => {
    await Promise.all([prosody?.stop(), coturn?.stop()]);
  });

  /** Prosody names turn.meet.example.com:443 and :3478; on loopback they are coturn's test ports. */
  const onLoopback = (relay: CoturnFixture) => ({
    hostname: HOSTNAME,
    ca: relay.ca.ca,
    connect: (s: ExternalService) => ({
      host: "127.0.0.1",
      port: s.type === "turns" ? relay.tlsPort : relay.port,
    }),
  });
  const login = async () => {
    const room = `verify-${randomBytes(4).toString("hex")}`;
    const token = await signRoomToken(
      await importHmacKey(TEST_JWT_SECRET),
      buildRoomClaims(
        { appId: settingsWith().jwtAppId },
        { room, user: { name: "v" }, moderator: false, ttlSeconds: 300 },
        Date.now() / 1000,
      ),
    );
    return { room, token };
  };
  const table = (results: Array<{ name: string; ok: boolean; detail: string }>) =>
    Object.fromEntries(results.map((r) => [r.name, r.ok ? "pass" : `FAIL ${r.detail}`]));

  it("the whole verify table passes, with the TURN rows: TLS first, then UDP and TCP, and a wrong password refused", async () => {
    const server = await startHttpsServer({
      "/": "meet",
      "/config.js": jitsiConfigJs({ guests: true, websocket: prosody.url.replace(/xmpp-websocket$/, "") }),
    });
    try {
      const results = await runVerify({
        meetingUrl: server.url,
        ca: server.ca,
        appId: settingsWith().jwtAppId,
        jwtSecret: TEST_JWT_SECRET,
        guestsEnabled: true,
        xmpp: {},
        turn: onLoopback(coturn),
        settleMs: 300,
        timeoutMs: 10_000,
      });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.filter((r) => r.name.startsWith("TURN")).map((r) => r.name)).toEqual([
        "TURN credentials from Prosody (XEP-0215)",
        "TURN over TLS on 443 allocates a relay",
        "TURN over UDP on 3478 allocates a relay",
        "TURN over TCP on 3478 allocates a relay",
        "TURN refuses a wrong password (TLS)",
      ]);
      const byName = Object.fromEntries(results.map((r) => [r.name, r.detail]));
      expect(byName["TURN credentials from Prosody (XEP-0215)"]).toMatch(
        /^turn:turn\.meet\.example\.com:3478\?transport=udp, turn:turn\.meet\.example\.com:3478\?transport=tcp, turns:turn\.meet\.example\.com:443\?transport=tcp; credentials until \d{4}-/,
      );
      expect(byName["TURN refuses a wrong password (TLS)"]).toBe("refused: 401 Unauthorized");
      expect(JSON.stringify(results)).not.toContain(TEST_TURN_SECRET);
    } finally {
      await server.close();
    }
  });

  it("fails the allocation rows when coturn's secret is not Prosody's", async () => {
    const other = await startCoturn(coturnConfig("a-secret-prosody-does-not-know-0123456789"));
    try {
      const rows = table(await turnChecks(prosody.target, await login(), onLoopback(other), 5000));
      expect(rows).toEqual({
        "TURN credentials from Prosody (XEP-0215)": "pass",
        "TURN over TLS on 443 allocates a relay": "FAIL refused: 401 Unauthorized",
        "TURN over UDP on 3478 allocates a relay": "FAIL refused: 401 Unauthorized",
        "TURN over TCP on 3478 allocates a relay": "FAIL refused: 401 Unauthorized",
        "TURN refuses a wrong password (TLS)": "pass",
      });
    } finally {
      await other.stop();
    }
  });

  it("fails when Prosody hands out no TURN service (the VM's .env without TURN)", async () => {
    const withoutTurn = await startJitsiProsody(renderedEnv({ turnEnabled: "false" }));
    try {
      const rows = table(await turnChecks(withoutTurn.target, await login(), onLoopback(coturn), 5000));
      expect(rows).toEqual({
        "TURN credentials from Prosody (XEP-0215)":
          "FAIL Prosody does not answer XEP-0215 (service-unavailable): mod_external_services is not loaded; is TURN_HOST set in the VM's .env?",
      });
    } finally {
      await withoutTurn.stop();
    }
  });
});

describe("npm run verify and the stack's TURN relay", () => {
  it("checks TURN when the stack outputs name a relay, and says where it could not reach it", async () => {
    const capture = captureIo();
    const outputs = sampleOutputs({
      meetingUrl: "https://127.0.0.1:9/",
      turnHostname: "turn.invalid",
    });
    const code = await runMain(
      () =>
        verifyMain(
          [
            "--stack",
            "dev",
            "--xmpp-url",
            "ws://127.0.0.1:9/xmpp-websocket",
            "--no-focus",
            "--timeout-ms",
            "2000",
            "--settle-ms",
            "0",
          ],
          capture.io,
          fakePulumi({ outputs }).run,
        ),
      capture.io,
    );
    expect(code).toBe(1);
    expect(capture.text()).toMatch(/TURN credentials from Prosody \(XEP-0215\) +FAIL/);
    expect(capture.text()).not.toContain(outputs.jwtAppSecret);
  });
});
