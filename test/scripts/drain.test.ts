import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromEnvironment, runDrainGate } from "../../infra/gate/drainBridge";
import { bridgeApi, httpLocalCall, sshLocalCall } from "../../scripts/lib/bridges/bridgeApi";
import { drainBridge, drainReport } from "../../scripts/lib/bridges/drain";
import { bridgeEnvEntries } from "../../infra/render/bridgeEnv";
import { jvbColibriStats } from "../helpers/jitsiApi";
import { settingsWith } from "../helpers/settings";
import { pinnedTarget, type SshdFixture, startSshd } from "../helpers/sshd";
import { renderTemplate } from "../helpers/tpl";

/**
 * A stand-in for a videobridge's local API on 127.0.0.1: /colibri/drain/enable and /colibri/stats with
 * the payload jvb renders (helpers/jitsiApi.ts). `leaveEachPoll` participants leave every time the stats
 * are read. Like jvb's ConfigFilter, it answers 404 for /colibri/stats unless the COLIBRI REST API is on
 * (`videobridge.apis.rest.enabled`, false in jvb's reference.conf); the drain API is on by default
 * (jitsi-videobridge@stable/jitsi-meet_11146 jvb/src/main/kotlin/org/jitsi/videobridge/rest/RestConfig.kt:43-44,
 * 101-104; jvb/src/main/resources/reference.conf:132-143).
 */
class StandInBridge {
  participants: number;
  draining = false;
  requests: string[] = [];
  failDrain = false;
  body?: string;
  private server: Server;
  constructor(
    participants: number,
    private leaveEachPoll = 0,
    colibriRest = true,
  ) {
    this.participants = participants;
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      if (req.method === "POST" && req.url === "/colibri/drain/enable") {
        if (this.failDrain) return void res.writeHead(500).end("no");
        this.draining = true;
        return void res.writeHead(200).end();
      }
      if (req.method === "GET" && req.url === "/colibri/stats" && colibriRest) {
        const stats = jvbColibriStats({
          participants: this.participants,
          conferences: Math.ceil(this.participants / 2),
          drain: this.draining,
        });
        this.participants = Math.max(0, this.participants - this.leaveEachPoll);
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(this.body ?? JSON.stringify(stats));
      }
      res.writeHead(404).end();
    });
  }
  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }
  stop = () => new Promise<void>((resolve) => this.server.close(() => resolve()));
}

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
});
async function bridge(participants: number, leaveEachPoll = 0, colibriRest = true) {
  const standIn = new StandInBridge(participants, leaveEachPoll, colibriRest);
  const port = await standIn.start();
  stops.push(standIn.stop);
  return { standIn, port, api: bridgeApi(httpLocalCall(), port) };
}

describe("draining a bridge before it is deleted (stand-in bridge API)", () => {
  it("switches the drain on first, then waits until the last participant has left", async () => {
    const { standIn, api } = await bridge(3, 1);
    const lines: string[] = [];
    const result = await drainBridge(api, { timeoutMs: 10_000, pollMs: 20, log: (l) => lines.push(l) });
    expect(result.outcome).toBe("empty");
    expect(standIn.requests[0]).toBe("POST /colibri/drain/enable");
    expect(standIn.requests.slice(1)).toEqual(Array(4).fill("GET /colibri/stats"));
    expect(standIn.draining).toBe(true);
    expect(lines[0]).toMatch(/^3 participants in 2 meetings; waiting, at most [\d.]+ min more$/);
    expect(drainReport("bridge-2", result)).toMatch(
      /^bridge-2: drained, no participants left after [\d.]+ min; deleting it\.$/,
    );
  });

  it("does not let a busy bridge go before the bounded wait is over, then says how many were still on it", async () => {
    const { standIn, api } = await bridge(4);
    const started = Date.now();
    const result = await drainBridge(api, { timeoutMs: 400, pollMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(result).toMatchObject({ outcome: "timeout", last: { participants: 4, conferences: 2 } });
    expect(result.waitedMs).toBeGreaterThanOrEqual(400);
    expect(standIn.requests.filter((r) => r.startsWith("GET")).length).toBeGreaterThanOrEqual(5);
    expect(drainReport("bridge-3", result)).toMatch(
      /^bridge-3: the drain wait of [\d.]+ min ran out and 4 participants in 2 meetings were still on it; deleting it anyway/,
    );
  });

  it("never reads a stats answer without counts as an empty bridge", async () => {
    const { standIn, api } = await bridge(0);
    standIn.body = JSON.stringify({ drain: true });
    const lines: string[] = [];
    const result = await drainBridge(api, { timeoutMs: 150, pollMs: 30, log: (l) => lines.push(l) });
    expect(result).toEqual({ outcome: "timeout", waitedMs: expect.any(Number) });
    expect(lines[0]).toMatch(/has no participant and conference counts/);
    expect(drainReport("bridge-1", result)).toMatch(/its load could not be read; deleting it anyway/);
  });

  it("refuses, and so keeps the bridge, when the drain cannot be switched on", async () => {
    const { standIn, api } = await bridge(2);
    standIn.failDrain = true;
    await expect(drainBridge(api, { timeoutMs: 1000, pollMs: 10 })).rejects.toThrow(
      /drain\/enable answered 500/,
    );
    const closed = bridgeApi(httpLocalCall(), 1);
    await expect(drainBridge(closed, { timeoutMs: 1000, pollMs: 10 })).rejects.toThrow();
  });
});

/** Whether a rendered jvb.conf turns on the COLIBRI REST API (`videobridge.apis.rest.enabled`). */
function colibriRestEnabled(jvbConf: string): boolean {
  const apis = /\n {4}apis \{[\s\S]*?\n\s*rest \{\s*enabled = (true|false)/.exec(jvbConf);
  if (!apis) throw new Error("no videobridge.apis.rest in the rendered jvb.conf");
  return apis[1] === "true";
}

describe("a bridge as its .env configures it (the release's jvb.conf template, rendered)", () => {
  it("serves /colibri/stats, so the drain reads its load and waits for the last participant", async () => {
    const settings = settingsWith({ bridges: "1" });
    const env = Object.fromEntries(
      bridgeEnvEntries({
        settings,
        bridge: settings.bridges.bridges[0]!,
        jvbPassword: "x".repeat(32),
        advertiseIps: ["203.0.113.51"],
      }).map((e) => [e.name, e.value]),
    );
    const jvbConf = (e: Record<string, string>) =>
      renderTemplate("jvb", "jvb.conf", e, { LOCAL_ADDRESS: "172.18.0.3", HOSTNAME: "3f2a1b" });
    const { port } = await bridge(2, 1, colibriRestEnabled(jvbConf(env)));
    const result = await drainBridge(bridgeApi(httpLocalCall(), port), { timeoutMs: 2000, pollMs: 10 });
    expect(result.outcome).toBe("empty");
    // The template's default (COLIBRI_REST_ENABLED unset) leaves it off: the drain would read no load.
    expect(colibriRestEnabled(jvbConf({ ...env, COLIBRI_REST_ENABLED: "" }))).toBe(false);
  });
});

describe("the drain step over SSH (real OpenSSH on 127.0.0.1)", () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
    stops.push(() => sshd.stop());
  });
  const target = () => pinnedTarget(sshd);

  it("reaches the bridge's loopback API through SSH and drains it", async () => {
    const { standIn, port } = await bridge(2, 1);
    const result = await drainBridge(bridgeApi(sshLocalCall(target()), port), {
      timeoutMs: 30_000,
      pollMs: 20,
    });
    expect(result.outcome).toBe("empty");
    expect(standIn.requests).toEqual([
      "POST /colibri/drain/enable",
      "GET /colibri/stats",
      "GET /colibri/stats",
      "GET /colibri/stats",
    ]);
  });

  it("asks for nothing but the drain and read-only paths", async () => {
    const call = sshLocalCall(target());
    await expect(call("POST", 8080, "/colibri/shutdown")).rejects.toThrow(
      /local-api: refusing POST \/colibri\/shutdown/,
    );
    await expect(call("GET", 8080, "/colibri/stats;id")).rejects.toThrow(/refusing/);
    // Nothing in jitsi-stack reads the version API, so the script does not pass it either.
    await expect(call("GET", 8080, "/about/version")).rejects.toThrow(
      /local-api: refusing GET \/about\/version/,
    );
  });

  it("the gate fails with what to do when SSH is closed, and lets a dead bridge go only when told", async () => {
    const env = {
      DRAIN_BRIDGE: "bridge-3",
      DRAIN_HOST: "127.0.0.1",
      DRAIN_PORT: "1",
      DRAIN_USER: sshd.user,
      DRAIN_HOST_KEY: sshd.hostPublicKey,
      DRAIN_IDENTITY: sshd.identity,
      DRAIN_MINUTES: "1",
    };
    await expect(runDrainGate(fromEnvironment(env), () => undefined)).rejects.toThrow(
      /^bridge-3: could not drain it \(SSH to 127\.0\.0\.1 failed: .*\), so it is kept\. .*JITSI_SKIP_DRAIN=bridge-3 pulumi up\.$/,
    );
    expect(
      await runDrainGate(fromEnvironment({ ...env, JITSI_SKIP_DRAIN: "bridge-1,bridge-3" }), () => undefined),
    ).toMatch(/^bridge-3: not drained \(JITSI_SKIP_DRAIN\)/);
    expect(fromEnvironment({ ...env, JITSI_SKIP_DRAIN: "bridge-1" }).skip).toBe(false);
    expect(() => fromEnvironment({ ...env, DRAIN_MINUTES: "0" })).toThrow(
      /DRAIN_MINUTES must be a positive number/,
    );
    expect(() => fromEnvironment({ ...env, DRAIN_HOST: "" })).toThrow(/DRAIN_HOST is not set/);
  });
});
