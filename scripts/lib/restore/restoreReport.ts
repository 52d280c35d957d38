import path from "node:path";
import { VM_LAYOUT } from "../../../config/versions";
import type { JitsiRelease } from "../archive/archive";
import { DATA_DIR } from "../archive/manifest";

/** A variable whose value differs between the backup's .env and the VM's (the name only, never a value). */
export interface SettingDifference {
  kind: "differ" | "backup-only" | "vm-only";
  name: string;
}

/** One entry of state/config that a restore would change (a dry run reports these). */
export interface DataChange {
  kind: "changed" | "added" | "removed";
  /** For "changed": what differs, among type, mode, owner, content and target. */
  what: string;
  /** Relative to state/config. */
  path: string;
}

/** What scripts/remote/restore.sh found on the VM, read from its stdout. */
export interface VmFacts {
  /** The VM's .jitsi-stack-release.json; null when it has none. */
  vmRelease: JitsiRelease | null;
  settings: SettingDifference[];
  /** Entries under the VM's state/config and under the backup's. */
  entries?: { live: number; backup: number };
  data: DataChange[];
}

/** Fields that follow each record's tag; restore.sh ends every field with a NUL, so names pass unchanged. */
const ARITY: Record<string, number> = { "vm-release": 2, setting: 2, entries: 2, data: 3 };

/**
 * Parses restore.sh's stdout. A record cut short (the connection dropped) or of an unknown tag ends the
 * reading: what came before it still counts.
 */
export function parseVmFacts(stdout: Buffer): VmFacts {
  const facts: VmFacts = { vmRelease: null, settings: [], data: [] };
  const fields = stdout.toString("utf8").split("\0");
  fields.pop(); // the text after the last NUL: empty, or a field cut short
  let i = 0;
  while (i < fields.length) {
    const tag = fields[i]!;
    const arity = ARITY[tag];
    if (arity === undefined || i + arity >= fields.length) break;
    const [a, b, c] = fields.slice(i + 1, i + 1 + arity) as [string, string, string];
    if (tag === "vm-release") facts.vmRelease = a ? { tag: a, commit: b } : null;
    else if (tag === "setting") facts.settings.push({ kind: a as SettingDifference["kind"], name: b });
    else if (tag === "entries") facts.entries = { live: Number(a), backup: Number(b) };
    else facts.data.push({ kind: a as DataChange["kind"], what: b, path: c });
    i += arity + 1;
  }
  return facts;
}

/** Names shown per kind of change in a dry run; the rest are counted. */
const SHOWN_PER_KIND = 10;

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

function ofKind(facts: VmFacts, kind: DataChange["kind"]): DataChange[] {
  return facts.data.filter((d) => d.kind === kind).sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Shows a file name on one line: names with control characters (a newline) are shown JSON-quoted. */
function shown(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(name) ? JSON.stringify(name) : name;
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
  const kinds = [
    ["changed", ofKind(facts, "changed")],
    ["added", ofKind(facts, "added")],
    ["gone", ofKind(facts, "removed")],
  ] as const;
  const counts = kinds.map(([word, list]) => `${list.length} ${word}`).join(", ");
  lines.push(
    facts.data.length === 0
      ? `  change no entry of the data: the backup's ${DATA_DIR} matches ${config} (types, modes, owners, contents);`
      : `  change the data: ${counts} (what goes stays in the kept copy):`,
  );
  for (const [word, list] of kinds) {
    for (const d of list.slice(0, SHOWN_PER_KIND))
      lines.push(`    ${word.padEnd(8)}${shown(d.path)}${d.what ? ` (${d.what})` : ""}`);
    if (list.length > SHOWN_PER_KIND)
      lines.push(`    ${word.padEnd(8)}... and ${list.length - SHOWN_PER_KIND} more`);
  }
  lines.push(
    `  leave ${jitsiDir}/.env, ${jitsiDir}/${releaseFileName} and the checkout as they are (${
      facts.settings.length === 0
        ? "the backup's .env sets the same values"
        : `${facts.settings.length} settings differ from the backup's, named above; the VM's stay`
    }).`,
  );
  return lines;
}
