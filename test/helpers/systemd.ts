import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Runs Debian's `systemd-analyze verify` on unit files inside a throwaway root under `work` that holds
 * the system's own units and stand-ins for `commands` (verify checks that each one is executable).
 * `units` maps paths under /etc/systemd/system to their text; drop-ins (`<unit>.d/*.conf`) are written
 * too, and systemd reads them with their unit.
 */
export function verifySystemdUnits(
  work: string,
  units: Record<string, string>,
  commands: readonly string[],
): { status: number | null; output: string } {
  const root = mkdtempSync(path.join(work, "root-"));
  cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true });
  for (const command of commands) {
    mkdirSync(path.join(root, path.dirname(command)), { recursive: true });
    writeFileSync(path.join(root, command), "#!/bin/sh\n");
    chmodSync(path.join(root, command), 0o755);
  }
  const unitFiles: string[] = [];
  for (const [name, text] of Object.entries(units)) {
    const file = path.join(root, "etc/systemd/system", name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (!name.includes(".d/")) unitFiles.push(file);
  }
  const result = spawnSync("systemd-analyze", ["verify", `--root=${root}`, "--man=no", ...unitFiles], {
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
