import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { BACKUP_NAME_RE, manifestPathFor } from "../archive/manifest";

/** The archives beyond the newest `keep`, oldest last. Names that are not backups are never touched. */
export function backupsToDelete(fileNames: string[], keep: number): string[] {
  const backups = fileNames.filter((name) => BACKUP_NAME_RE.test(name)).sort();
  return backups.slice(0, Math.max(0, backups.length - keep)).reverse();
}

/** Deletes old archives and their manifests; returns the archive names it deleted. */
export function applyRetention(dir: string, keep: number): string[] {
  const doomed = backupsToDelete(readdirSync(dir), keep);
  for (const name of doomed) {
    const archive = path.join(dir, name);
    rmSync(manifestPathFor(archive), { force: true });
    rmSync(archive, { force: true });
  }
  return doomed;
}

/** Hidden work files of runs that were killed outright (SIGKILL leaves no chance to clean up). */
export function sweepPartials(dir: string): string[] {
  const partials = readdirSync(dir).filter((name) => name.startsWith(".") && name.endsWith(".partial"));
  for (const name of partials) rmSync(path.join(dir, name), { force: true });
  return partials;
}
