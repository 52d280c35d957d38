import path from "node:path";
import { VM_LAYOUT } from "../../../config/versions";
import { RECORDER_LAYOUT } from "../../../infra/render/recorder";
import { runRemoteScriptText, type SshTarget } from "../shared/ssh";
import type { StackOutputs } from "../shared/stack-outputs";

/**
 * Where a recorder keeps recordings until they are uploaded (RECORDER_LAYOUT.recordings.host), under the
 * target's Jitsi directory: the same place on a VM, and under a test VM's own directory.
 */
export const recordingsDir = (jitsiDir: string) =>
  path.posix.join(jitsiDir, path.posix.relative(VM_LAYOUT.jitsiDir, RECORDER_LAYOUT.recordings.host));

export interface PendingSession {
  session: string;
  bytes: number;
  /** An upload was tried and failed (the retry timer tries again). */
  failed: boolean;
}

/** What one recorder still holds, or why it could not be asked. */
export interface RecorderHoldings {
  recorder: string;
  host: string;
  sessions?: PendingSession[];
  error?: string;
}

export type Recorders = NonNullable<StackOutputs["recorders"]>;

/** Parses pending-recordings.sh's output: NAME<TAB>BYTES<TAB>FAILED a line. */
export function parsePending(text: string): PendingSession[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [session = "", bytes = "0", failed = "0"] = line.split("\t");
      return { session, bytes: Number(bytes), failed: failed === "1" };
    });
}

/** Asks one recorder over SSH which recordings it still holds. */
export async function pendingOn(target: SshTarget): Promise<PendingSession[]> {
  const result = await runRemoteScriptText(target, "pending-recordings.sh", [recordingsDir(target.jitsiDir)]);
  if (result.exitCode !== 0) {
    throw new Error(`exit ${result.exitCode}: ${result.stderrTail.at(-1) ?? "no message"}`);
  }
  return parsePending(result.stdout);
}

/** The warning lines for recordings that are not in the bucket yet; none when every recorder is empty. */
export function pendingWarning(holdings: readonly RecorderHoldings[]): string[] {
  const lines: string[] = [];
  for (const h of holdings) {
    if (h.error) {
      lines.push(
        `  ${h.recorder} (${h.host}): could not check (${h.error}); it may hold recordings not yet uploaded`,
      );
    } else if (h.sessions && h.sessions.length > 0) {
      const mb = h.sessions.reduce((sum, s) => sum + s.bytes, 0) / 1e6;
      const failed = h.sessions.filter((s) => s.failed).length;
      lines.push(
        `  ${h.recorder} (${h.host}): ${h.sessions.length} recording(s), ${mb.toFixed(1)} MB, not yet uploaded${failed > 0 ? ` (${failed} failed to upload)` : ""}: ${h.sessions.map((s) => s.session).join(", ")}`,
      );
    }
  }
  if (lines.length === 0) return [];
  return [
    "WARNING: recordings not yet in the bucket are lost when their recorder is destroyed:",
    ...lines,
    "  Wait for the upload retry (every 10 minutes), or fix the bucket settings and redeploy, then run teardown again; docs/recording.md has the details.",
  ];
}
