import path from "node:path";
import { VM_LAYOUT } from "../../config/versions";
import type { JitsiRelease } from "./archive";
import { DATA_DIR } from "./manifest";

/** A variable whose value differs between the backup's .env and the VM's (the name only, never a value). */
export interface SettingDifference {
  kind: "differ" | "backup-only" | "vm-only";
  name: string;
}

/** What scripts/remote/restore.sh found on the VM, read from its stdout. */
export interface VmFacts {
  /** The VM's .jitsi-stack-release.json; null when it has none. */
  vmRelease: JitsiRelease | null;
  settings: SettingDifference[];
  /** Entries under the VM's state/config and under the backup's. */
  entries?: { live: number; backup: number };
}

/** Fields that follow each record's tag; restore.sh ends every field with a NUL, so names pass unchanged. */
const ARITY: Record<string, number> = { "vm-release": 2, setting: 2, entries: 2 };

/**
 * Parses restore.sh's stdout. A record cut short (the connection dropped) or of an unknown tag ends the
 * reading: what came before it still counts.
 */
export function parseVmFacts(stdout: Buffer): VmFacts {
  const facts: VmFacts = { vmRelease: null, settings: [] };
  const fields = stdout.toString("utf8").split("\0");
  fields.pop(); // the text after the last NUL: empty, or a field cut short
  let i = 0;
  while (i < fields.length) {
    const tag = fields[i]!;
    const arity = ARITY[tag];
    if (arity === undefined || i + arity >= fields.length) break;
    const [a, b] = fields.slice(i + 1, i + 1 + arity) as [string, string];
    if (tag === "vm-release") facts.vmRelease = a ? { tag: a, commit: b } : null;
    else if (tag === "setting") facts.settings.push({ kind: a as SettingDifference["kind"], name: b });
    else facts.entries = { live: Number(a), backup: Number(b) };
    i += arity + 1;
  }
  return facts;
}

const releaseFileName = path.posix.basename(VM_LAYOUT.releaseFile);

const KIND_WORDS: Record<SettingDifference["kind"], string> = {
  differ: "other value",
  "backup-only": "only in the backup",
  "vm-only": "only on the VM",
};

/** One line naming the settings that differ, by name only: values never leave the VM. */
export function settingsWarning(settings: SettingDifference[], envFile: string): string | undefined {
  if (settings.length === 0) return undefined;
  const named = settings.map((s) => `${s.name} (${KIND_WORDS[s.kind]})`).join(", ");
  return `Warning: the backup's .env differs from ${envFile} in ${named}. A restore brings back data only: ${envFile} is not changed, so the stack's current settings stay in force (change settings with 'pulumi config set' and 'pulumi up').`;
}

/** The dry run's account of what a restore would change, and what it would leave alone. */
export function dryRunReport(facts: VmFacts, jitsiDir: string, config: string): string[] {
  const aside = `${config}.before-restore-<UTC time>`;
  const live = facts.entries?.live ?? "?";
  const backup = facts.entries?.backup ?? "?";
  const lines = [
    "A restore would:",
    `  stop the stack, move ${config} (${live} entries) to ${aside} (kept), put the backup's ${DATA_DIR} (${backup} entries) in its place, and start the stack;`,
  ];
  lines.push(
    `  leave ${jitsiDir}/.env, ${jitsiDir}/${releaseFileName} and the checkout as they are (${
      facts.settings.length === 0
        ? "the backup's .env sets the same values"
        : `${facts.settings.length} settings differ from the backup's, named above; the VM's stay`
    }).`,
  );
  return lines;
}
