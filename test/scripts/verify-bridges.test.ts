import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpLocalCall, type LocalCall, sshLocalCall } from "../../scripts/lib/bridges/bridgeApi";
import { bridgeChecks, parseJicofoBridges } from "../../scripts/lib/verify/bridges";
import { jicofoDebug as jicofoDebugOf, jicofoDebugBridge, jvbColibriStats } from "../helpers/jitsiApi";
import { pinnedTarget, type SshdFixture, startSshd } from "../helpers/sshd";

const VERSION = "2.3.237-g9e1c1b2";
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
});

/** A local HTTP stand-in answering fixed JSON by path, on 127.0.0.1. */
async function standIn(routes: Record<string, unknown>): Promise<number> {
  const server = createServer((req, res) => {
    const body = routes[req.url ?? ""];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}
/** jicofo's /debug with these bridges, keyed as jicofo keys them: the brewery occupant JID. */
const jicofoDebug = (
  bridges: Array<{ nickname: string; version?: string; region?: string; stress?: number }>,
) =>
  jicofoDebugOf(
    Object.fromEntries(
      bridges.map((b) => [
        `jvbbrewery@internal-muc.meet.jitsi/${b.nickname}`,
        jicofoDebugBridge({
          version: b.version ?? VERSION,
          region: b.region ?? "nbg1",
          stress: b.stress ?? 0.05,
          relayId: b.nickname,
        }),
      ]),
    ),
  );
const jvbStats = (participants: number, conferences: number) =>
  jvbColibriStats({ participants, conferences });
/** Calls that go to a stand-in's port whatever port the check asks for (the VM's 8080 or 8888). */
const to =
  (port: number, via: LocalCall = httpLocalCall()): LocalCall =>
  (method, _port, path) =>
    via(method, port, path);

describe("verify lists the bridges jicofo sees, with their load (stand-in jicofo and bridges)", () => {
  it("passes every declared bridge jicofo sees on one version, with participants, conferences and stress", async () => {
    const jicofo = await standIn({
      "/debug": jicofoDebug([
        { nickname: "meeting" },
        { nickname: "bridge-1", region: "fsn1" },
        { nickname: "bridge-2" },
      ]),
    });
    const b1 = await standIn({ "/colibri/stats": jvbStats(7, 2) });
    const b2 = await standIn({ "/colibri/stats": jvbStats(0, 0) });
    const results = await bridgeChecks({
      jicofo: to(jicofo),
      bridges: [
        { nickname: "bridge-1", call: to(b1) },
        { nickname: "bridge-2", call: to(b2) },
      ],
      meetingBridge: true,
    });
    expect(results).toEqual([
      { name: "bridge meeting", ok: true, detail: `stress 0.05 (jicofo), version ${VERSION}, region nbg1` },
      {
        name: "bridge bridge-1",
        ok: true,
        detail: `7 participants in 2 conferences, stress 0.07, version ${VERSION}, region fsn1`,
      },
      {
        name: "bridge bridge-2",
        ok: true,
        detail: `0 participants in 0 conferences, stress 0.00, version ${VERSION}, region nbg1`,
      },
    ]);
  });

  it("fails a declared bridge jicofo does not see, and one that runs another version", async () => {
    const jicofo = await standIn({
      "/debug": jicofoDebug([
        { nickname: "meeting" },
        { nickname: "bridge-1" },
        { nickname: "bridge-3", version: "2.3.100-gold" },
      ]),
    });
    const results = await bridgeChecks({
      jicofo: to(jicofo),
      bridges: ["bridge-1", "bridge-2", "bridge-3"].map((nickname) => ({ nickname, call: to(1) })),
      meetingBridge: true,
    });
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.name)).toEqual(["bridge bridge-2", "bridge bridge-3"]);
    expect(failed[0]!.detail).toBe(
      "declared, but jicofo does not see it (it sees meeting, bridge-1, bridge-3)",
    );
    expect(failed[1]!.detail).toMatch(
      /version 2\.3\.100-gold.*runs another version than the other bridges \(2\.3\.237-g9e1c1b2\)/,
    );
  });

  it("warns about a bridge jicofo sees that the stack does not declare, and fails when jicofo cannot be read", async () => {
    const jicofo = await standIn({
      "/debug": jicofoDebug([{ nickname: "bridge-1" }, { nickname: "bridge-9" }]),
    });
    const results = await bridgeChecks({
      jicofo: to(jicofo),
      bridges: [{ nickname: "bridge-1", call: to(1) }],
      meetingBridge: false,
    });
    expect(results.map((r) => [r.name, r.ok, r.warning ?? false])).toEqual([
      ["bridge bridge-1", true, false],
      ["bridge bridge-9", true, true],
    ]);
    expect(results[0]!.detail).toMatch(/its own stats could not be read/);
    const broken = await standIn({ "/debug": { focus_manager: {} } });
    expect(await bridgeChecks({ jicofo: to(broken), bridges: [], meetingBridge: true })).toEqual([
      {
        name: "bridges: jicofo",
        ok: false,
        detail: "could not read the bridges jicofo sees: jicofo's /debug has no bridge_selector.bridge",
      },
    ]);
    expect(() => parseJicofoBridges("<html>")).toThrow(/not JSON/);
  });

  it('reads a bridge without a region (jicofo writes the string "null") as having none', () => {
    const body = jicofoDebugOf({
      "jvbbrewery@internal-muc.meet.jitsi/meeting": jicofoDebugBridge({ version: VERSION, drain: true }),
    });
    expect(parseJicofoBridges(JSON.stringify(body))).toEqual([
      {
        nickname: "meeting",
        version: VERSION,
        region: "none",
        stress: 0.05,
        operational: true,
        draining: true,
      },
    ]);
  });

  describe("over SSH (real OpenSSH on 127.0.0.1)", () => {
    let sshd: SshdFixture;
    beforeAll(async () => {
      sshd = await startSshd();
      stops.push(() => sshd.stop());
    });

    it("reads jicofo and the bridge through their loopback APIs on the VMs", async () => {
      const ssh = sshLocalCall(pinnedTarget(sshd));
      const jicofo = await standIn({ "/debug": jicofoDebug([{ nickname: "bridge-1" }]) });
      const bridge = await standIn({ "/colibri/stats": jvbStats(4, 1) });
      const results = await bridgeChecks({
        jicofo: to(jicofo, ssh),
        bridges: [{ nickname: "bridge-1", call: to(bridge, ssh) }],
        meetingBridge: false,
      });
      expect(results).toEqual([
        {
          name: "bridge bridge-1",
          ok: true,
          detail: `4 participants in 1 conferences, stress 0.04, version ${VERSION}, region nbg1`,
        },
      ]);
    });
  });
});
