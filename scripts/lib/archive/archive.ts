import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import path from "node:path";
import { list } from "tar";
import { z } from "zod";
import { VM_LAYOUT } from "../../../config/versions";

/** What a backup archive holds, read back from the file itself. */
export interface ArchiveInfo {
  sha256: string;
  size: number;
  /** Regular files. */
  fileCount: number;
  /** Every entry: files, directories, links. */
  entryCount: number;
  /** A regular file ./.env (the VM's settings when the backup was made, for comparison). */
  hasEnv: boolean;
  /** A directory ./state/config: the data a restore puts back. */
  hasData: boolean;
  /** The release the VM recorded in .jitsi-stack-release.json, when the archive holds that file. */
  release: JitsiRelease | null;
  /** Entries that would land outside the directory (absolute, or with ..). */
  unsafePaths: string[];
  /** Entries that are neither under ./state/config nor one of the reference files (or are, with the wrong type). */
  strayEntries: string[];
  /**
   * Links that lead out of state/config, members written through a symlink, and device files or FIFOs,
   * each described with the reason ("./state/config/x -> /tmp/x (a symlink to an absolute path)").
   */
  unsafeEntries: string[];
}

export const JitsiReleaseSchema = z.object({ tag: z.string().min(1), commit: z.string().min(1) });
export type JitsiRelease = z.infer<typeof JitsiReleaseSchema>;

const RELEASE_FILE = path.posix.basename(VM_LAYOUT.releaseFile);
/** The data directory inside the archive ("state/config"), as the VM layout places it under the Jitsi directory. */
const DATA_ROOT = path.posix.relative(VM_LAYOUT.jitsiDir, VM_LAYOUT.configDir);

/** Members allowed outside the data directory, by relative name, with the one type each may have. */
const OUTSIDE_DATA: Record<string, string> = {
  [path.posix.dirname(DATA_ROOT)]: "Directory",
  ".env": "File",
  [RELEASE_FILE]: "File",
};

/** The name relative to the data directory ("" for the directory itself), or null for a member outside it. */
function dataName(name: string): string | null {
  if (name === DATA_ROOT) return "";
  return name.startsWith(`${DATA_ROOT}/`) ? name.slice(DATA_ROOT.length + 1) : null;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Names as GNU tar writes them for `tar -C dir ./.env ./state/config`: "./.env", "./state/config/web". */
function relativeName(name: string): string {
  return name.replace(/^(\.\/)+/, "").replace(/\/$/, "");
}

/**
 * Reads the whole archive (gzip and tar framing, every byte), so a corrupted or cut-short file fails here
 * with the reason, before anything trusts it.
 */
export async function inspectArchive(file: string): Promise<ArchiveInfo> {
  const size = statSync(file).size;
  const sha256 = await sha256File(file);
  const info: ArchiveInfo = {
    sha256,
    size,
    fileCount: 0,
    entryCount: 0,
    hasEnv: false,
    hasData: false,
    release: null,
    unsafePaths: [],
    strayEntries: [],
    unsafeEntries: [],
  };
  const links = new LinkCheck();
  const releaseChunks: Buffer[] = [];
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const name = relativeName(entry.path);
        if (name === "" && entry.type === "Directory") return; // the "./" entry for the directory itself
        info.entryCount += 1;
        if (entry.type === "File" || entry.type === "OldFile") info.fileCount += 1;
        if (entry.path.startsWith("/") || name.split("/").includes("..")) {
          info.unsafePaths.push(entry.path);
          return;
        }
        const inData = dataName(name);
        if (inData === "" && entry.type === "Directory") info.hasData = true;
        if (inData !== null && (inData !== "" || entry.type === "Directory")) {
          links.add(entry.path, inData, entry.type, entry.linkpath ?? "");
        } else if (OUTSIDE_DATA[name] !== entry.type) {
          info.strayEntries.push(`${entry.path} (${describeType(entry.type)})`);
        } else {
          if (name === ".env") info.hasEnv = true;
          if (name === RELEASE_FILE) entry.on("data", (chunk: Buffer) => releaseChunks.push(chunk));
        }
      },
    });
  } catch (error) {
    throw new Error(`it is not a readable tar.gz (${(error as Error).message})`, { cause: error });
  }
  info.unsafeEntries = links.problems();
  if (releaseChunks.length > 0) {
    try {
      const parsed = JitsiReleaseSchema.safeParse(JSON.parse(Buffer.concat(releaseChunks).toString("utf8")));
      if (parsed.success) info.release = { tag: parsed.data.tag, commit: parsed.data.commit };
    } catch {
      // An unreadable release file leaves the release unknown; the manifest then records null.
    }
  }
  return info;
}

/** Words for a tar entry type in messages. */
function describeType(type: string): string {
  const words: Record<string, string> = {
    File: "a file",
    OldFile: "a file",
    Directory: "a directory",
    SymbolicLink: "a symlink",
    Link: "a hard link",
  };
  return words[type] ?? SPECIAL_NAMES[type] ?? `a ${type} entry`;
}

/** The kinds of member a Jitsi directory holds; anything else (devices, FIFOs, ...) is refused by name. */
const SPECIAL_NAMES: Record<string, string> = {
  CharacterDevice: "a character device",
  BlockDevice: "a block device",
  FIFO: "a FIFO",
};
const ORDINARY = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** Symlinks followed before giving up, as the kernel does (ELOOP after 40). */
const MAX_HOPS = 40;

/**
 * Collects the members of the data directory that could reach outside it once it is moved into place. Names
 * are relative to the data directory, which moves as a whole. Symlinks are judged after the
 * whole archive is read, because a later symlink can change where an earlier one leads.
 */
class LinkCheck {
  private readonly symlinks = new Map<string, string>();
  private readonly members: { shown: string; name: string }[] = [];
  private readonly found: string[] = [];

  add(shown: string, name: string, type: string, linkpath: string): void {
    this.members.push({ shown, name });
    if (type === "SymbolicLink") {
      this.symlinks.set(name, linkpath);
    } else if (type === "Link") {
      // tar names a hard link's target from the top of the archive; the entry's own folder is checked too,
      // so an archive that any tar reads either way cannot reach out.
      const target = dataName(relativeName(linkpath));
      if (linkpath.startsWith("/"))
        this.found.push(`${shown} link to ${linkpath} (a hard link to an absolute path)`);
      else if (
        target === null ||
        climbsOut([], linkpath) ||
        climbsOut([], target) ||
        climbsOut(parentOf(name), target)
      )
        this.found.push(`${shown} link to ${linkpath} (a hard link that leads out of ${DATA_ROOT})`);
    } else if (!ORDINARY.has(type)) {
      this.found.push(`${shown} (${SPECIAL_NAMES[type] ?? `a ${type} entry`})`);
    }
  }

  problems(): string[] {
    const result = [...this.found];
    for (const { shown, name } of this.members) {
      const target = this.symlinks.get(name);
      if (target !== undefined) {
        if (target.startsWith("/")) result.push(`${shown} -> ${target} (a symlink to an absolute path)`);
        else if (this.resolve(parentOf(name), target) === null)
          result.push(`${shown} -> ${target} (a symlink that leads out of ${DATA_ROOT})`);
      }
      const parts = name.split("/");
      for (let i = 1; i < parts.length; i += 1) {
        const above = parts.slice(0, i).join("/");
        if (this.symlinks.has(above)) {
          result.push(`${shown} (inside the symlink ./${DATA_ROOT}/${above})`);
          break;
        }
      }
    }
    return result;
  }

  /** Follows `target` from `dir` through the archive's own symlinks; null when it leaves the directory. */
  private resolve(dir: string[], target: string): string[] | null {
    const at = [...dir];
    const todo = target.split("/");
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (at.length === 0) return null;
        at.pop();
        continue;
      }
      at.push(part);
      const link = this.symlinks.get(at.join("/"));
      if (link === undefined) continue;
      hops += 1;
      if (hops > MAX_HOPS || link.startsWith("/")) return null;
      at.pop();
      todo.unshift(...link.split("/"));
    }
    return at;
  }
}

function parentOf(name: string): string[] {
  return name.split("/").slice(0, -1);
}

/** True when `target`, read from `dir` without following symlinks, goes above the top. */
function climbsOut(dir: string[], target: string): boolean {
  let depth = dir.length;
  for (const part of target.split("/")) {
    if (part === "..") depth -= 1;
    else if (part !== "" && part !== ".") depth += 1;
    if (depth < 0) return true;
  }
  return false;
}
