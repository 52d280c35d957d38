import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
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

/** Runs Debian's `cloud-init schema` validator on a user-data document. */
export function cloudInitSchema(text: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "cloud-init-schema-"));
  try {
    const target = path.join(dir, "user-data");
    writeFileSync(target, text);
    const result = spawnSync("cloud-init", ["schema", "--config-file", target], { encoding: "utf8" });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
