import {
  type BridgeStats,
  JICOFO_API_PORT,
  JVB_API_PORT,
  type LocalCall,
  parseBridgeStats,
} from "../bridges/bridgeApi";
import type { CheckResult } from "./checks";

/** A bridge as jicofo sees it (jicofo's /debug: bridge_selector.bridge, one entry per brewery occupant). */
export interface JicofoBridge {
  /** The occupant's nickname: the resource of its brewery JID (bridge-N, or meeting). */
  nickname: string;
  version: string;
  region: string;
  stress: number;
  operational: boolean;
  draining: boolean;
}

/**
 * Reads jicofo's /debug; a body without the bridge selector is refused rather than read as "no bridges".
 * Shape (jicofo@stable/jitsi-meet_11146): JicofoServices.kt:245 `bridge_selector`; BridgeSelector.kt:236-246
 * `bridge`, keyed by the bridge's brewery occupant JID (BridgeMucDetector.kt:49-50); Bridge.kt:338-355 the
 * values, where `region` is the string "null" for a bridge that reports none. Served on 8888
 * (jicofo/src/main/resources/reference.conf:147-166, ktor/Application.kt:244-251), beyond its container
 * only with JICOFO_ENABLE_REST (the release's jicofo.conf:267-270).
 */
export function parseJicofoBridges(body: string): JicofoBridge[] {
  let json: { bridge_selector?: { bridge?: Record<string, Record<string, unknown>> } };
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    throw new Error(`jicofo's /debug is not JSON: ${body.slice(0, 80)}`);
  }
  const bridges = json.bridge_selector?.bridge;
  if (!bridges || typeof bridges !== "object")
    throw new Error("jicofo's /debug has no bridge_selector.bridge");
  return Object.entries(bridges).map(([jid, state]) => ({
    nickname: jid.slice(jid.indexOf("/") + 1),
    version: String(state.version),
    region: state.region === "null" || state.region === undefined ? "none" : String(state.region),
    stress: Number(state.stress),
    operational: state.operational === true,
    draining: state.drain === true,
  }));
}

export interface BridgeCheckOptions {
  /** Local HTTP calls on the meeting VM (over SSH), where jicofo listens on 127.0.0.1:8888. */
  jicofo: LocalCall;
  /** The bridges the stack declares, each with local calls on its own VM (over SSH). */
  bridges: ReadonlyArray<{ nickname: string; call: LocalCall }>;
  /** Whether the meeting VM runs a bridge of its own (nickname "meeting"). */
  meetingBridge: boolean;
}

const load = (s: BridgeStats) =>
  `${s.participants} participants in ${s.conferences} conferences, stress ${s.stress.toFixed(2)}`;

/**
 * One row per bridge jicofo sees, with its load, and a failure for a declared bridge it does not see or
 * that runs another version than the rest (jicofo never puts two versions in one meeting). The data comes
 * over SSH from the VMs' loopback APIs; nothing is opened to the internet for it.
 */
export async function bridgeChecks(options: BridgeCheckOptions): Promise<CheckResult[]> {
  let seen: JicofoBridge[];
  try {
    seen = parseJicofoBridges(await options.jicofo("GET", JICOFO_API_PORT, "/debug"));
  } catch (error) {
    return [
      {
        name: "bridges: jicofo",
        ok: false,
        detail: `could not read the bridges jicofo sees: ${(error as Error).message}`,
      },
    ];
  }
  const declared = [...(options.meetingBridge ? ["meeting"] : []), ...options.bridges.map((b) => b.nickname)];
  const versions = new Map<string, number>();
  for (const b of seen) versions.set(b.version, (versions.get(b.version) ?? 0) + 1);
  // The version most bridges run; with a tie, the meeting VM's own.
  const meeting = seen.find((b) => b.nickname === "meeting")?.version;
  const expected = [...versions.entries()].sort(
    (a, b) => b[1] - a[1] || (a[0] === meeting ? -1 : b[0] === meeting ? 1 : 0),
  )[0]?.[0];

  const results: CheckResult[] = [];
  for (const nickname of declared) {
    const name = `bridge ${nickname}`;
    const bridge = seen.find((b) => b.nickname === nickname);
    if (!bridge) {
      results.push({
        name,
        ok: false,
        detail: `declared, but jicofo does not see it (it sees ${seen.map((b) => b.nickname).join(", ") || "none"})`,
      });
      continue;
    }
    const call = options.bridges.find((b) => b.nickname === nickname)?.call;
    let stats = `stress ${bridge.stress.toFixed(2)} (jicofo)`;
    if (call) {
      try {
        stats = load(parseBridgeStats(await call("GET", JVB_API_PORT, "/colibri/stats")));
      } catch (error) {
        stats += `; its own stats could not be read: ${(error as Error).message}`;
      }
    }
    const detail = `${stats}, version ${bridge.version}, region ${bridge.region}${bridge.draining ? ", draining" : ""}${bridge.operational ? "" : ", not operational"}`;
    if (bridge.version !== expected) {
      results.push({
        name,
        ok: false,
        detail: `${detail}: runs another version than the other bridges (${expected}); jicofo never mixes versions in one meeting`,
      });
    } else {
      results.push({ name, ok: bridge.operational, detail });
    }
  }
  for (const extra of seen.filter((b) => !declared.includes(b.nickname))) {
    results.push({
      name: `bridge ${extra.nickname}`,
      ok: true,
      warning: true,
      detail: `jicofo sees it, but the stack does not declare it (version ${extra.version}, stress ${extra.stress.toFixed(2)}); a bridge left over from another deployment?`,
    });
  }
  return results;
}
