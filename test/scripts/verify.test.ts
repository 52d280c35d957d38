import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMain } from "../../scripts/lib/shared/cli";
import {
  judgeCertificate,
  judgeConfig,
  judgeEntered,
  judgeGuests,
  judgeHeld,
  judgeLobby,
  judgeRefusal,
} from "../../scripts/lib/verify/checks";
import { httpsGet, readJitsiConfig } from "../../scripts/lib/verify/https";
import { runVerify } from "../../scripts/lib/verify/run";
import { verifyMain } from "../../scripts/verify";
import { fakePulumi } from "../helpers/fake-pulumi";
import { jitsiConfigJs, startHttpsServer } from "../helpers/https-server";
import { captureIo } from "../helpers/io";
import { startJitsiProsody } from "../helpers/jitsiProsody";
import { startProsody, type ProsodyFixture } from "../helpers/prosody";
import { renderedEnv, settingsWith, TEST_JWT_SECRET } from "../helpers/settings";
import { type RunningIssuer, startNodeIssuer } from "../issuer/targets";

const SECRET = "verify-test-secret-0123456789abcdef";

describe("the served config.js", () => {
  it("passes with prejoin off, token auth on and no guest domain when guests are off", () => {
    const results = judgeConfig(readJitsiConfig(jitsiConfigJs()), false);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ["config.js: prejoin off", true],
      ["config.js: token auth", true],
      ["config.js: guests as configured", true],
    ]);
  });

  it("passes prejoin on only when the stack turned it on", () => {
    expect(judgeConfig(readJitsiConfig(jitsiConfigJs({ prejoin: true })), false, true)[0]).toMatchObject({
      name: "config.js: prejoin on",
      ok: true,
    });
  });

  it("fails prejoin on, naming the .env switch", () => {
    const [prejoin] = judgeConfig(readJitsiConfig(jitsiConfigJs({ prejoin: true })), false);
    expect(prejoin).toMatchObject({
      ok: false,
      detail: expect.stringContaining("ENABLE_PREJOIN_PAGE does not match jitsi:enablePrejoin"),
    });
  });

  it("fails when authentication is off", () => {
    const results = judgeConfig(readJitsiConfig(jitsiConfigJs({ auth: false })), false);
    expect(results[1]).toMatchObject({
      ok: false,
      detail: expect.stringContaining("ENABLE_AUTH=1 is not in effect"),
    });
  });

  it("fails when the guest domain does not match the stack's guest setting", () => {
    expect(judgeConfig(readJitsiConfig(jitsiConfigJs({ guests: true })), false)[2]).toMatchObject({
      ok: false,
    });
    expect(judgeConfig(readJitsiConfig(jitsiConfigJs({ guests: false })), true)[2]).toMatchObject({
      ok: false,
    });
    expect(judgeConfig(readJitsiConfig(jitsiConfigJs({ guests: true })), true)[2]).toMatchObject({
      ok: true,
    });
  });

  it("is run without Node globals and with a time limit", () => {
    expect(() => readJitsiConfig("var config = { p: typeof process };")).not.toThrow();
    expect(readJitsiConfig("var config = { p: typeof process, r: typeof require };")).toEqual({
      p: "undefined",
      r: "undefined",
    });
    expect(() => readJitsiConfig("while (true) {}")).toThrow(/timed out/);
    expect(() => readJitsiConfig("<html>")).toThrow();
    expect(() => readJitsiConfig("var other = 1;")).toThrow(/does not define `config`/);
  });
});

describe("HTTPS", () => {
  it("accepts a certificate that chains to a trusted CA and names the host", async () => {
    const server = await startHttpsServer({ "/": "ok" });
    try {
      const answer = await httpsGet(server.url, { ca: server.ca, timeoutMs: 5000 });
      expect(answer.status).toBe(200);
      expect(
        judgeCertificate(answer.certificate.validTo, answer.certificate.issuer, new Date()),
      ).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/\(\d+ days\), issuer Throwaway Test CA$/),
      });
    } finally {
      await server.close();
    }
  });

  it("refuses an untrusted certificate and a certificate for another name", async () => {
    const server = await startHttpsServer({ "/": "ok" });
    try {
      await expect(httpsGet(server.url, { timeoutMs: 5000 })).rejects.toThrow(
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/,
      );
      await expect(httpsGet(server.ipUrl, { ca: server.ca, timeoutMs: 5000 })).rejects.toThrow(
        /ERR_TLS_CERT_ALTNAME_INVALID/,
      );
    } finally {
      await server.close();
    }
  });

  it("fails a certificate that expires within a week (renewal broken)", async () => {
    const server = await startHttpsServer({ "/": "ok" }, { days: 3 });
    try {
      const { certificate } = await httpsGet(server.url, { ca: server.ca, timeoutMs: 5000 });
      expect(judgeCertificate(certificate.validTo, certificate.issuer, new Date())).toMatchObject({
        ok: false,
        detail: expect.stringContaining("renewal is not working"),
      });
    } finally {
      await server.close();
    }
  });
});

describe("the certificate's days left (the VM renews under 30: warn below that, fail under 7)", () => {
  it.each([
    [6, false, false],
    [8, true, true],
    [29, true, true],
    [31, true, false],
  ])("a served certificate valid for %i more days: pass is %s, warning is %s", async (days, ok, warning) => {
    const server = await startHttpsServer({ "/": "ok" }, { days });
    try {
      const { certificate } = await httpsGet(server.url, { ca: server.ca, timeoutMs: 5000 });
      const result = judgeCertificate(certificate.validTo, certificate.issuer, new Date());
      expect(result.ok).toBe(ok);
      expect(result.warning === true).toBe(warning);
      expect(result.detail.includes("renewal is not working")).toBe(!ok);
      expect(result.detail.includes("renewal is due")).toBe(warning);
    } finally {
      await server.close();
    }
  });

  it("passes at exactly 7 whole days left and fails one second short of them", () => {
    const now = new Date("2025-06-01T12:00:00Z");
    const day = 86_400_000;
    const at = (ms: number) => judgeCertificate(new Date(now.getTime() + ms), "R11", now);
    expect(at(7 * day)).toEqual({
      name: "HTTPS certificate",
      ok: true,
      warning: true,
      detail:
        "valid until 2025-06-08 (7 days), issuer R11: renewal is due; check 'journalctl -u jitsi-stack-renew-cert' on the VM",
    });
    expect(at(30 * day)).toEqual({
      name: "HTTPS certificate",
      ok: true,
      detail: "valid until 2025-07-01 (30 days), issuer R11",
    });
    expect(at(30 * day - 1000).warning).toBe(true);
    expect(at(7 * day - 1000)).toEqual({
      name: "HTTPS certificate",
      ok: false,
      detail:
        "valid until 2025-06-08 (6 days), issuer R11: renewal is not working (check the web container's logs)",
    });
    expect(at(6 * day).ok).toBe(false);
    expect(at(8 * day).ok).toBe(true);
    expect(at(-day)).toMatchObject({ ok: false, detail: expect.stringContaining("(-1 days)") });
  });
});

describe("refusal and lobby judgements", () => {
  it("a join or a network error is never counted as a refusal", () => {
    expect(judgeRefusal("x", { kind: "joined", affiliation: "owner", role: "moderator" }).ok).toBe(false);
    expect(judgeRefusal("x", { kind: "error", stage: "connect", message: "ECONNREFUSED" }).ok).toBe(false);
    expect(
      judgeRefusal("x", {
        kind: "refused",
        stage: "sasl",
        condition: "not-allowed",
        text: "Invalid signature",
      }),
    ).toEqual({
      name: "x",
      ok: true,
      detail: 'refused at sasl: not-allowed "Invalid signature"',
    });
  });

  it("a lobby component passes only when the stack turned the lobby on", () => {
    const lobby = [{ category: "component", type: "lobbyrooms", name: "lobby.meet.jitsi" }];
    expect(judgeLobby(lobby, true)).toMatchObject({ name: "lobby on", ok: true });
    expect(judgeLobby([], true)).toMatchObject({ name: "lobby on", ok: false });
  });

  it("with guests on, the lobby component must be there (guests wait in it), whatever the lobby switch", () => {
    const lobby = [{ category: "component", type: "lobbyrooms", name: "lobby.meet.jitsi" }];
    expect(judgeLobby(lobby, false, true)).toMatchObject({ name: "lobby on", ok: true });
    expect(judgeLobby([], false, true)).toMatchObject({
      name: "lobby on",
      ok: false,
      detail: expect.stringContaining("jitsi:enableGuests (guests need it)"),
    });
  });

  it("a guest is held only by the lobby's registration-required; joining or another refusal fails", () => {
    const held = { kind: "refused", stage: "join", condition: "registration-required" } as const;
    expect(judgeHeld("h", held)).toEqual({
      name: "h",
      ok: true,
      detail: "held in the lobby (registration-required)",
    });
    expect(judgeHeld("h", { kind: "joined", affiliation: "owner", role: "moderator" }).detail).toMatch(
      /^the guest opened the room/,
    );
    expect(judgeHeld("h", { kind: "refused", stage: "join", condition: "not-allowed" }).ok).toBe(false);
    expect(judgeEntered("e", held)).toMatchObject({
      ok: false,
      detail: expect.stringContaining("knock screen"),
    });
    expect(judgeEntered("e", { kind: "joined", affiliation: "member", role: "participant" }).ok).toBe(true);
  });

  it("a lobby component on the XMPP domain fails the lobby check", () => {
    expect(judgeLobby([{ category: "component", type: "lobbyrooms", name: "lobby.meet.jitsi" }]).ok).toBe(
      false,
    );
    expect(judgeLobby([{ category: "server", type: "im" }]).ok).toBe(true);
  });
});

describe("verify against Debian's Prosody (no Jitsi token module)", () => {
  let prosody: ProsodyFixture;
  let server: Awaited<ReturnType<typeof startHttpsServer>>;
  beforeAll(async () => {
    prosody = await startProsody({ guests: true });
    server = await startHttpsServer({
      "/": "<html>meet</html>",
      "/config.js": jitsiConfigJs({ guests: true, websocket: prosody.url.replace(/xmpp-websocket$/, "") }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await prosody?.stop();
  });

  // Prosody without mod_auth_token lets everyone in as the room's first occupant or as "none": verify must
  // report exactly the token-dependent checks as failures and never count a join as a refusal.
  it("passes what this Prosody can show and fails every check that needs the token module", async () => {
    const results = await runVerify({
      meetingUrl: server.url,
      ca: server.ca,
      appId: "jitsi-stack",
      jwtSecret: SECRET,
      guestsEnabled: true,
      xmpp: { noFocus: true },
      settleMs: 300,
      timeoutMs: 5000,
    });
    const table = Object.fromEntries(results.map((r) => [r.name, r.ok]));
    expect(table).toEqual({
      "HTTPS certificate": true,
      "config.js: prejoin off": true,
      "config.js: token auth": true,
      "config.js: guests as configured": true,
      "guest is held until a token holder is in": false,
      // The guest's room is gone once it leaves, so the moderator creates it anew, as its owner.
      "moderator: true token joins as owner": true,
      "token holder gets in while a guest waits (no knock screen)": true,
      "lobby on": false,
      "moderator: false token joins as member": false,
      "member is still member after leaving and joining again": false,
      "no token is refused": false,
      "bad signature is refused": false,
      "expired token is refused": false,
      "token for another room is refused": false,
      "guest gets in once a token holder is in (no one clicks)": true,
    });
    expect(results.find((r) => r.name === "guest is held until a token holder is in")?.detail).toMatch(
      /^the guest opened the room \(joined as owner/,
    );
    expect(results.find((r) => r.name === "no token is refused")?.detail).toMatch(
      /^expected a refusal, but joined as/,
    );
    expect(JSON.stringify(results)).not.toContain(SECRET);
  });

  it("the CLI prints the table, never the secret, and exits 1 when a check fails", async () => {
    process.env.VERIFY_JWT_SECRET = SECRET;
    const capture = captureIo();
    try {
      const code = await runMain(
        () =>
          verifyMain(
            [
              "--url",
              server.url,
              "--ca",
              server.caFile,
              "--app-id",
              "jitsi-stack",
              "--guests",
              "on",
              "--no-focus",
              "--settle-ms",
              "200",
              "--timeout-ms",
              "5000",
            ],
            capture.io,
            fakePulumi({}).run,
          ),
        capture.io,
      );
      expect(code).toBe(1);
      expect(capture.out.join("\n")).toMatch(/^CHECK +RESULT +DETAIL\n/);
      expect(capture.out.join("\n")).toMatch(/HTTPS certificate +pass /);
      expect(capture.out.join("\n")).toMatch(/no token is refused +FAIL +expected a refusal/);
      expect(capture.out.join("\n")).toMatch(/8 of 15 checks failed\.$/);
      expect(capture.text()).not.toContain(SECRET);
    } finally {
      delete process.env.VERIFY_JWT_SECRET;
    }
  });

  describe("the issuer row, against the real Node issuer (npm run issuer)", () => {
    const ISSUER = "issuer returns a working token";
    const apiKey = randomBytes(24).toString("hex");
    const wrongKey = randomBytes(24).toString("hex");
    let issuer: RunningIssuer;
    beforeAll(async () => {
      issuer = await startNodeIssuer({
        JWT_APP_ID: "jitsi-stack",
        JITSI_DOMAIN: "meet.localhost",
        ISSUER_API_KEYS: apiKey,
        JWT_APP_SECRET: SECRET,
      });
    });
    afterAll(async () => issuer?.stop());

    /**
     * The CLI with an explicit target, the issuer's API key in VERIFY_ISSUER_API_KEY and the stack's JWT
     * secret (the issuer's own unless a test says otherwise) in VERIFY_JWT_SECRET.
     */
    async function verifyWithIssuer(issuerUrl: string, key: string, stackSecret = SECRET) {
      process.env.VERIFY_JWT_SECRET = stackSecret;
      process.env.VERIFY_ISSUER_API_KEY = key;
      const capture = captureIo();
      try {
        const code = await runMain(
          () =>
            verifyMain(
              [
                ...["--url", server.url, "--ca", server.caFile, "--app-id", "jitsi-stack", "--guests", "on"],
                ...["--issuer-url", issuerUrl, "--no-focus", "--settle-ms", "200", "--timeout-ms", "5000"],
              ],
              capture.io,
              fakePulumi({}).run,
            ),
          capture.io,
        );
        const row = capture.out
          .join("\n")
          .split("\n")
          .find((line) => line.startsWith(ISSUER));
        return { code, row, text: capture.text() };
      } finally {
        delete process.env.VERIFY_JWT_SECRET;
        delete process.env.VERIFY_ISSUER_API_KEY;
      }
    }

    it("passes when the issuer hands out a token that verifies and joins as owner", async () => {
      const result = await verifyWithIssuer(`${issuer.baseUrl}/`, apiKey);
      expect(result.row).toMatch(/^issuer returns a working token +pass +joined as owner/);
      expect(result.text).toContain("  pass  issuer returns a working token");
      expect(result.code).toBe(1); // the token-module checks still fail on this Prosody
      expect(result.text).not.toContain(apiKey);
      expect(result.text).not.toContain(SECRET);
    });

    it("fails with the issuer's answer when the API key is wrong, and prints neither key", async () => {
      const result = await verifyWithIssuer(`${issuer.baseUrl}/`, wrongKey);
      expect(result.row).toMatch(
        new RegExp(
          `^issuer returns a working token +FAIL +${issuer.baseUrl.replace(/\./g, "\\.")} answered HTTP 401: the bearer token is not a valid API key or ID token`,
        ),
      );
      expect(result.code).toBe(1);
      expect(result.text).not.toContain(wrongKey);
      expect(result.text).not.toContain(apiKey);
    });

    // One issuer serves every test here: a stack whose secret is not the issuer's is the same mismatch.
    it("fails when the issuer signs with another secret than the stack's", async () => {
      const stackSecret = "another-secret-than-the-issuer-0123456789";
      const result = await verifyWithIssuer(issuer.baseUrl, apiKey, stackSecret);
      expect(result.row).toMatch(/^issuer returns a working token +FAIL +signature verification failed/);
      expect(result.text).not.toContain(apiKey);
      expect(result.text).not.toContain(stackSecret);
    });
  });

  it("reports an unreachable site as failed checks, not a crash", async () => {
    const results = await runVerify({
      meetingUrl: "https://localhost:1/",
      appId: "jitsi-stack",
      jwtSecret: SECRET,
      guestsEnabled: false,
      xmpp: {},
      settleMs: 0,
      timeoutMs: 2000,
    });
    expect(results).toEqual([
      { name: "HTTPS certificate", ok: false, detail: expect.stringContaining("ECONNREFUSED") },
      { name: "XMPP target", ok: false, detail: "config.js gave no websocket URL; pass --xmpp-url" },
    ]);
  });
});

describe("the guest row", () => {
  it("with guests off passes only the server's refusal: a network error or timeout proves nothing", () => {
    const refused = { kind: "refused", stage: "connect", condition: "host-unknown" } as const;
    const error = {
      kind: "error",
      stage: "connect",
      message: "connect ECONNREFUSED 127.0.0.1:5280",
    } as const;
    const joined = { kind: "joined", affiliation: "none", role: "participant" } as const;
    expect(judgeGuests(refused, false)).toEqual({
      name: "guests refused (guests off)",
      ok: true,
      detail: "refused at connect: host-unknown",
    });
    expect(judgeGuests(error, false)).toEqual({
      name: "guests refused (guests off)",
      ok: false,
      detail:
        "expected the server to refuse the guest, but error at connect: connect ECONNREFUSED 127.0.0.1:5280",
    });
    expect(judgeGuests(joined, false)).toMatchObject({ ok: false });
    expect(judgeGuests(joined, true)).toMatchObject({ ok: true });
    expect(judgeGuests(error, true)).toMatchObject({ ok: false });
  });
});

describe("verify with guests off", () => {
  it("passes the guest check when the guest domain refuses logins, and says what Prosody answered", async () => {
    const prosody = await startProsody({ guests: false });
    const server = await startHttpsServer({
      "/": "meet",
      "/config.js": jitsiConfigJs({ guests: false, websocket: prosody.url.replace(/xmpp-websocket$/, "") }),
    });
    try {
      const results = await runVerify({
        meetingUrl: server.url,
        ca: server.ca,
        appId: "jitsi-stack",
        jwtSecret: SECRET,
        guestsEnabled: false,
        xmpp: { noFocus: true },
        settleMs: 100,
        timeoutMs: 5000,
      });
      expect(results.find((r) => r.name === "config.js: guests as configured")?.ok).toBe(true);
      expect(results.find((r) => r.name === "guests refused (guests off)")).toEqual({
        name: "guests refused (guests off)",
        ok: true,
        detail: 'refused at connect: host-unknown "This server does not serve guest.meet.jitsi"',
      });
    } finally {
      await server.close();
      await prosody.stop();
    }
  });
});

/**
 * verify's table against the release-configured Prosody (test/helpers/jitsiProsody.ts) behind config.js,
 * and Prosody's log of the run.
 */
async function verifyAgainst(env: Record<string, string>, guests: boolean, timeoutMs = 10_000) {
  const prosody = await startJitsiProsody(env);
  const server = await startHttpsServer({
    "/": "meet",
    "/config.js": jitsiConfigJs({ guests, websocket: prosody.url.replace(/xmpp-websocket$/, "") }),
  });
  try {
    const results = await runVerify({
      meetingUrl: server.url,
      ca: server.ca,
      appId: settingsWith().jwtAppId,
      jwtSecret: TEST_JWT_SECRET,
      guestsEnabled: guests,
      xmpp: {},
      settleMs: 300,
      timeoutMs,
    });
    const table = Object.fromEntries(results.map((r) => [r.name, r.ok ? "pass" : `FAIL ${r.detail}`]));
    return { table, log: prosody.log() };
  } finally {
    await server.close();
    await prosody.stop();
  }
}

// Concurrent: each test starts its own Prosody and HTTPS server on free ports and sets no environment
// variable; most of the time goes to waiting on XMPP exchanges and verify's timeouts.
describe.concurrent(
  "verify against Prosody as the stack's .env configures it (focus opens rooms, as jicofo does)",
  () => {
    it("passes every check with guests on", async () => {
      expect((await verifyAgainst(renderedEnv(), true)).table).toEqual({
        "HTTPS certificate": "pass",
        "config.js: prejoin off": "pass",
        "config.js: token auth": "pass",
        "config.js: guests as configured": "pass",
        "guest is held until a token holder is in": "pass",
        "moderator: true token joins as owner": "pass",
        "token holder gets in while a guest waits (no knock screen)": "pass",
        "lobby on": "pass",
        "moderator: false token joins as member": "pass",
        "member is still member after leaving and joining again": "pass",
        "no token is refused": "pass",
        "bad signature is refused": "pass",
        "expired token is refused": "pass",
        "token for another room is refused": "pass",
        "guest gets in once a token holder is in (no one clicks)": "pass",
      });
    });

    it("passes every check with guests off", async () => {
      const { table } = await verifyAgainst(renderedEnv({ enableGuests: "false" }), false);
      expect(Object.entries(table).filter(([, result]) => result !== "pass")).toEqual([]);
      expect(Object.keys(table)).toEqual(
        expect.arrayContaining([
          "lobby off",
          "guests refused (guests off)",
          "member is still member after leaving and joining again",
        ]),
      );
    });

    it("fails the guest rows when guests can open rooms (no muc_wait_for_host)", async () => {
      const { table } = await verifyAgainst(
        { ...renderedEnv(), XMPP_MUC_MODULES: "token_affiliation" },
        true,
      );
      expect(table["guest is held until a token holder is in"]).toMatch(/^FAIL the guest opened the room/);
      expect(table["moderator: true token joins as owner"]).toBe("pass");
    });

    it("fails the member rows when every token holder becomes owner (muc_wait_for_host's auto-owner)", async () => {
      const { WAIT_FOR_HOST_DISABLE_AUTO_OWNERS: _dropped, ...env } = renderedEnv();
      const { table } = await verifyAgainst(env, true);
      expect(table["moderator: false token joins as member"]).toMatch(
        /^FAIL expected to join as member, but joined as owner/,
      );
      expect(table["member is still member after leaving and joining again"]).toMatch(/^FAIL/);
    });

    // muc_wait_for_host without the lobby component fails on every token holder's join, which then gets
    // no answer at all: each such step waits out verify's timeout. Prosody's log shows that failure, so
    // the rows cannot pass because a join was merely slow.
    it(
      "fails the token-holder rows when the lobby component is off while guests wait for a host",
      { timeout: 60_000 },
      async () => {
        const { table, log } = await verifyAgainst({ ...renderedEnv(), ENABLE_LOBBY: "0" }, true, 3000);
        expect(table["token holder gets in while a guest waits (no knock screen)"]).toMatch(
          /^FAIL expected to get in, but error at join: no answer to the room join/,
        );
        expect(table.lobby).toMatch(/^FAIL not checked: error at join/);
        expect(log).toMatch(
          /mod_muc_wait_for_host\.lua:\d+: attempt to index a nil value \(upvalue 'lobby_host'\)/,
        );
      },
    );
  },
);
