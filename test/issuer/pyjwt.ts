import { spawnSync } from "node:child_process";
import path from "node:path";

const SCRIPT = path.join(__dirname, "prosody_verify.py");

export interface PyJwtResult {
  ok: boolean;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown> & {
    context: { user: Record<string, unknown>; features?: Record<string, boolean> };
  };
  reason: string;
}

/** Checks a token with Debian's python3-jwt the way Prosody does (see prosody_verify.py). */
export function verifyWithPyJwt(appId: string, secret: string, token: string): PyJwtResult {
  const run = spawnSync("/usr/bin/python3", [SCRIPT, appId, token], {
    env: { JWT_APP_SECRET: secret, PATH: "/usr/bin:/bin" },
    encoding: "utf8",
  });
  if (run.status !== 0) return { ok: false, reason: run.stderr.trim() || `exit ${run.status}` };
  const parsed = JSON.parse(run.stdout) as Pick<PyJwtResult, "header" | "claims">;
  return { ok: true, reason: "", ...parsed };
}
