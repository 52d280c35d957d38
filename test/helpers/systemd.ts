import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Debian's `systemd-analyze verify` on units (and drop-ins) inside a throwaway root that holds the
 * system's own units and stand-ins for `commands`, which verify checks are executable. `files` maps a
 * path under /etc/systemd/system to its text; `verify` names the units to check.
 */
export function systemdVerify(
  files: Record<string, string>,
  units: string[],
  commands: string[],
): { status: number | null; output: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), "systemd-verify-"));
  try {
    cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true });
    for (const command of commands) {
      mkdirSync(path.join(root, path.dirname(command)), { recursive: true });
      writeFileSync(path.join(root, command), "#!/bin/sh\n");
      chmodSync(path.join(root, command), 0o755);
    }
    for (const [name, text] of Object.entries(files)) {
      const file = path.join(root, "etc/systemd/system", name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    const result = spawnSync(
      "systemd-analyze",
      ["verify", `--root=${root}`, "--man=no", ...units.map((unit) => path.join(root, unit))],
      { encoding: "utf8" },
    );
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
