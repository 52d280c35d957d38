import { recordingsDir } from "../recording/recordings";
import { runRemoteScriptText, type SshTarget } from "../shared/ssh";
import type { CheckResult } from "./checks";

export interface RecorderTarget {
  name: string;
  ssh: SshTarget;
  /** The docker binary on the recorder (tests point it elsewhere). */
  docker?: string;
}

/** recorder-status.sh's key=value lines. */
export function parseStatus(text: string): Record<string, string> {
  const status: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) status[line.slice(0, at)] = line.slice(at + 1);
  }
  return status;
}

/** One row per fact: Jibri's state as it reports it, whether the bucket takes a write, and leftovers. */
export function judgeRecorder(name: string, status: Record<string, string>): CheckResult[] {
  const rows: CheckResult[] = [];
  const health = status.health ?? "down: no answer";
  // Jibri's GET /jibri/api/v1.0/health (jibri@62369d55 src/main/kotlin/org/jitsi/jibri/health/JibriHealth.kt:29-41,
  // status/JibriStatusManager.kt:38-49): {"status":{"busyStatus":"IDLE|BUSY|EXPIRED","health":{"healthStatus":
  // "HEALTHY|UNHEALTHY","details":{...}}},"environmentContext"?:{...}}.
  let parsed: { status?: { busyStatus?: string; health?: { healthStatus?: string } } } | undefined;
  try {
    parsed = health.startsWith("down") ? undefined : JSON.parse(health);
  } catch {
    parsed = undefined;
  }
  const busy = parsed?.status?.busyStatus;
  const healthy = parsed?.status?.health?.healthStatus;
  rows.push({
    name: `${name}: Jibri registered and healthy`,
    ok: healthy === "HEALTHY",
    detail: parsed ? `${busy ?? "?"}, ${healthy ?? "?"}` : health,
  });
  rows.push({
    name: `${name}: bucket writable with its keys`,
    ok: status.bucket === "ok",
    detail: status.bucket === "ok" ? "probe written, verified, deleted" : (status.bucket ?? "no answer"),
  });
  const pending = Number(status.pending ?? "0");
  rows.push({
    name: `${name}: recordings waiting for upload`,
    ok: true,
    warning: pending > 0,
    detail: pending === 0 ? "none" : `${pending} session(s); the retry timer uploads them every 10 minutes`,
  });
  return rows;
}

/** Asks each recorder over SSH; a recorder that cannot be reached gets a failed row. */
export async function recorderChecks(recorders: readonly RecorderTarget[]): Promise<CheckResult[]> {
  const rows: CheckResult[] = [];
  for (const recorder of recorders) {
    const args = [recorder.ssh.jitsiDir, recordingsDir(recorder.ssh.jitsiDir)];
    const result = await runRemoteScriptText(
      recorder.ssh,
      "recorder-status.sh",
      recorder.docker ? [...args, recorder.docker] : args,
    );
    if (result.exitCode !== 0) {
      rows.push({
        name: `${recorder.name}: reachable over SSH`,
        ok: false,
        detail: result.stderrTail.at(-1) ?? `exit ${result.exitCode}`,
      });
      continue;
    }
    rows.push(...judgeRecorder(recorder.name, parseStatus(result.stdout)));
  }
  return rows;
}
