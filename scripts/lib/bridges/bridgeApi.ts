import { OperationError } from "../shared/cli";
import { runRemoteScriptText, SSH_CONNECTION_FAILED, type SshTarget, sshFailure } from "../shared/ssh";

/** The videobridge's local HTTP port, published on 127.0.0.1 only (docker-compose.yml). */
export const JVB_API_PORT = 8080;
/** jicofo's, published on 127.0.0.1 only and served beyond its container only with JICOFO_ENABLE_REST=1. */
export const JICOFO_API_PORT = 8888;

/** A bridge's load, from its /colibri/stats. */
export interface BridgeStats {
  participants: number;
  conferences: number;
  stress: number;
  draining: boolean;
}

/** What drain and verify ask of a bridge: over SSH in real use, straight over HTTP in tests. */
export interface BridgeApi {
  /**
   * POST /colibri/drain/enable: jicofo sends it no new meetings. On by default (jitsi-videobridge@stable/jitsi-meet_11146
   * jvb/src/main/java/org/jitsi/videobridge/rest/root/colibri/drain/Drain.java:33-58, reference.conf:142-143).
   */
  enableDrain(): Promise<void>;
  stats(): Promise<BridgeStats>;
}

/** A local HTTP call on a VM: the method, the loopback port and the path. */
export type LocalCall = (method: "GET" | "POST", port: number, path: string) => Promise<string>;

const number = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) ? value : NaN;

/**
 * Reads jvb's /colibri/stats; a body without the counts is refused, never read as an empty bridge.
 * The keys and types are jvb's (jitsi-videobridge@stable/jitsi-meet_11146
 * jvb/src/main/kotlin/org/jitsi/videobridge/stats/VideobridgeStatisticsShim.kt:153 `participants`, :186
 * `stress_level` (double), :187 `conferences`, :222 `drain` (boolean); counts are Long gauges). It is served
 * only with the COLIBRI REST API on: the bridge's .env sets COLIBRI_REST_ENABLED (infra/render/bridgeEnv.ts).
 */
export function parseBridgeStats(body: string): BridgeStats {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new OperationError(`the bridge's /colibri/stats is not JSON: ${body.slice(0, 80)}`);
  }
  const stats = {
    participants: number(json.participants),
    conferences: number(json.conferences),
    stress: number(json.stress_level ?? 0),
    draining: json.drain === true,
  };
  if (!Number.isInteger(stats.participants) || !Number.isInteger(stats.conferences)) {
    throw new OperationError(
      `the bridge's /colibri/stats has no participant and conference counts: ${body.slice(0, 80)}`,
    );
  }
  return stats;
}

export function bridgeApi(call: LocalCall, port = JVB_API_PORT): BridgeApi {
  return {
    enableDrain: async () => {
      await call("POST", port, "/colibri/drain/enable");
    },
    stats: async () => parseBridgeStats(await call("GET", port, "/colibri/stats")),
  };
}

/** Local HTTP calls made on the VM over SSH (scripts/remote/local-api.sh): no API is ever exposed. */
export function sshLocalCall(target: SshTarget): LocalCall {
  return async (method, port, path) => {
    const result = await runRemoteScriptText(target, "local-api.sh", [method, String(port), path]);
    if (result.exitCode !== 0) {
      const where =
        result.exitCode === SSH_CONNECTION_FAILED
          ? `SSH to ${target.host}`
          : `${method} ${path} on ${target.host}`;
      throw new OperationError(`${where} failed: ${sshFailure(target, result.stderrTail)}`);
    }
    return result.stdout;
  };
}

/** Local HTTP calls straight to a base address: the tests' stand-in bridge, on 127.0.0.1. */
export function httpLocalCall(host = "127.0.0.1"): LocalCall {
  return async (method, port, path) => {
    const response = await fetch(`http://${host}:${port}${path}`, {
      method,
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.text();
    if (!response.ok)
      throw new OperationError(`${method} ${path} answered ${response.status}: ${body.slice(0, 80)}`);
    return body;
  };
}
