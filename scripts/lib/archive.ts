import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { list } from "tar";
import { z } from "zod";

/** What a backup archive holds, read back from the file itself. */
export interface ArchiveInfo {
  sha256: string;
  size: number;
  /** Regular files. */
  fileCount: number;
  /** Every entry: files, directories, links. */
  entryCount: number;
  hasEnv: boolean;
  /** The release the VM recorded in .jitsi-stack-release.json, when the archive holds that file. */
  release: JitsiRelease | null;
  /** Entries that would land outside the directory (absolute, or with ..). */
  unsafePaths: string[];
}

export const JitsiReleaseSchema = z.object({ tag: z.string().min(1), commit: z.string().min(1) });
export type JitsiRelease = z.infer<typeof JitsiReleaseSchema>;

const RELEASE_FILE = ".jitsi-stack-release.json";

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Names as GNU tar writes them for `tar -C dir .`: "./.env", "./config/web". */
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
    release: null,
    unsafePaths: [],
  };
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
        if (entry.path.startsWith("/") || name.split("/").includes("..")) info.unsafePaths.push(entry.path);
        if (name === ".env" && entry.type === "File") info.hasEnv = true;
        if (name === RELEASE_FILE) entry.on("data", (chunk: Buffer) => releaseChunks.push(chunk));
      },
    });
  } catch (error) {
    throw new Error(`it is not a readable tar.gz (${(error as Error).message})`, { cause: error });
  }
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
