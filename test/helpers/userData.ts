import { gunzipSync } from "node:zlib";
import { parse } from "yaml";

export interface WrittenFile {
  path: string;
  permissions: string;
  owner?: string;
  /** The file's text, gunzipped when cloud-init gets it compressed (`encoding: gz+b64`). */
  content: string;
  encoding?: string;
}

/** The files a #cloud-config document writes, as the VM ends up with them. */
export function writtenFiles(userData: string): WrittenFile[] {
  const files = (parse(userData) as { write_files?: WrittenFile[] }).write_files ?? [];
  return files.map((file) =>
    file.encoding === "gz+b64"
      ? { ...file, content: gunzipSync(Buffer.from(file.content, "base64")).toString() }
      : file,
  );
}
