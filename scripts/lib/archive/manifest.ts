import path from "node:path";
import { z } from "zod";
import { VM_LAYOUT } from "../../../config/versions";
import { type ArchiveInfo, JitsiReleaseSchema } from "./archive";

/**
 * Format 2 holds the data (state/config) and, for comparison only, the VM's .env and release file.
 * Format 1 held the whole Jitsi directory, and a restore swapped it back, settings and release included.
 */
export const MANIFEST_FORMAT = "jitsi-stack-backup/2";
const FORMAT_1 = "jitsi-stack-backup/1";

/** Where the data lives, relative to the Jitsi directory on the VM and inside the archive: "state/config". */
export const DATA_DIR = path.posix.relative(VM_LAYOUT.jitsiDir, VM_LAYOUT.configDir);

/** Files beside the data, kept so a restore can compare them with the VM's; a restore never writes them. */
export const REFERENCE_FILES = [".env", path.posix.basename(VM_LAYOUT.releaseFile)] as const;

/**
 * What backup.sh leaves out of DATA_DIR, recorded in each manifest so a reader knows what is not in it.
 * The directories of the last two stay (empty), so the containers still find their mounts.
 */
export const EXCLUDED = [
  "*.log",
  `${DATA_DIR}/*/logs/`,
  `${DATA_DIR}/tmp/*/*`,
  `${DATA_DIR}/storage/jibri/recordings/*`,
];

/** Backups are named by their UTC start time: 2025-06-01T12-30-05Z (no colons, sorts by time). */
export const BACKUP_NAME_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)\.tar\.gz$/;

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  stack: z.string().min(1),
  createdAt: z.iso.datetime(),
  archive: z.string().regex(BACKUP_NAME_RE),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().positive(),
  fileCount: z.number().int().nonnegative(),
  entryCount: z.number().int().nonnegative(),
  /** The release the VM ran when the backup was made; a restore compares it with the stack's. */
  jitsiRelease: JitsiReleaseSchema.nullable(),
  source: z.object({ host: z.string(), jitsiDir: z.string(), configDir: z.string() }),
  /** What a restore puts back (data) and what it only compares (reference). */
  contents: z.object({ data: z.string(), reference: z.array(z.string()) }),
  excluded: z.array(z.string()),
});

export type Manifest = z.infer<typeof ManifestSchema>;

export function backupStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-");
}

export function archiveFileName(stamp: string): string {
  return `${stamp}.tar.gz`;
}

/** backups/dev/2025-06-01T12-30-05Z.tar.gz -> backups/dev/2025-06-01T12-30-05Z.manifest.json */
export function manifestPathFor(archivePath: string): string {
  const dir = path.dirname(archivePath);
  const base = path.basename(archivePath).replace(/\.tar\.gz$/, "");
  return path.join(dir, `${base}.manifest.json`);
}

export function buildManifest(input: {
  stack: string;
  createdAt: Date;
  archive: string;
  info: ArchiveInfo;
  release: Manifest["jitsiRelease"];
  host: string;
  jitsiDir: string;
}): Manifest {
  return {
    format: MANIFEST_FORMAT,
    stack: input.stack,
    createdAt: input.createdAt.toISOString(),
    archive: input.archive,
    sha256: input.info.sha256,
    size: input.info.size,
    fileCount: input.info.fileCount,
    entryCount: input.info.entryCount,
    jitsiRelease: input.release,
    source: {
      host: input.host,
      jitsiDir: input.jitsiDir,
      configDir: path.posix.join(input.jitsiDir, DATA_DIR),
    },
    contents: { data: DATA_DIR, reference: [...REFERENCE_FILES] },
    excluded: EXCLUDED,
  };
}

/** A manifest this version cannot use, with the one thing to do about it. */
export class ManifestFormatError extends Error {}

/** Parses a manifest file's text; the error names the first field that is wrong. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("it is not JSON");
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format === FORMAT_1) {
    throw new ManifestFormatError(
      `it is a ${FORMAT_1} backup, which holds the whole Jitsi directory, and restoring it would bring back that time's .env and release; make a new backup with 'npm run backup', or copy its data in by hand (docs/operations.md, "Backups in the old format")`,
    );
  }
  if (typeof format === "string" && format !== MANIFEST_FORMAT && format.startsWith("jitsi-stack-backup/")) {
    throw new ManifestFormatError(
      `it is a ${format} backup, made by a newer jitsi-stack than this one (which reads ${MANIFEST_FORMAT}); restore it with that version`,
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`field '${issue.path.join(".") || "(root)"}' is wrong: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Compares an archive with its manifest; returns the reasons it must not be restored (empty when it may).
 * Size is compared first: a cut-short download shows there before the checksum.
 */
export function archiveMismatches(
  manifest: Manifest,
  archiveName: string,
  info: Pick<ArchiveInfo, "sha256" | "size">,
): string[] {
  const reasons: string[] = [];
  if (manifest.archive !== archiveName) {
    reasons.push(`the manifest describes ${manifest.archive}, not ${archiveName}`);
  }
  if (info.size !== manifest.size) {
    reasons.push(
      `the archive is ${info.size} bytes but the manifest says ${manifest.size} (cut short or altered)`,
    );
  }
  if (info.sha256 !== manifest.sha256) {
    reasons.push(`the archive's sha256 is ${info.sha256} but the manifest says ${manifest.sha256}`);
  }
  return reasons;
}

/** Reasons the archive's contents are unfit to become the VM's state/config. */
export function contentProblems(manifest: Manifest, info: ArchiveInfo): string[] {
  const reasons: string[] = [];
  if (info.unsafePaths.length > 0) {
    reasons.push(`it holds paths outside the directory: ${info.unsafePaths.slice(0, 3).join(", ")}`);
  }
  if (info.strayEntries.length > 0) {
    reasons.push(
      `it holds entries that are not part of a backup (only ./${DATA_DIR}/ and ${REFERENCE_FILES.map((f) => `./${f}`).join(", ")} are): ${info.strayEntries.slice(0, 3).join(", ")}`,
    );
  }
  if (info.unsafeEntries.length > 0) {
    reasons.push(
      `it holds links or special files that could reach outside ${DATA_DIR}: ${info.unsafeEntries.slice(0, 3).join(", ")}`,
    );
  }
  if (!info.hasData) reasons.push(`it holds no ${DATA_DIR} directory, so there is no data to restore`);
  if (!info.hasEnv) reasons.push("it holds no .env to compare the settings with");
  if (info.fileCount !== manifest.fileCount || info.entryCount !== manifest.entryCount) {
    reasons.push(
      `it holds ${info.fileCount} files / ${info.entryCount} entries but the manifest says ${manifest.fileCount} / ${manifest.entryCount}`,
    );
  }
  return reasons;
}
