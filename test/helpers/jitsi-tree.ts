import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { inspectArchive } from "../../scripts/lib/archive";
import { buildManifest, manifestPathFor } from "../../scripts/lib/manifest";

/** Files that backups leave out on purpose (logs and scratch space), relative to the Jitsi directory. */
export const TRANSIENT = [
  "config/jvb/jvb.log",
  "config/web/nginx-error.log",
  "config/jibri/logs",
  "config/jibri/logs/recorder-0.txt",
  "config/tmp",
  "config/tmp/web-load-test",
  "config/tmp/web-load-test/index.html",
];

/**
 * Owners that differ from root's, set on the tree when the tests run as root (CI does): the containers
 * write as uid 1000, and one entry has an owner that exists nowhere, uid 1001 with gid 1002.
 */
export const OWNED: Record<string, [uid: number, gid: number]> = {
  "config/prosody": [1000, 1000],
  "config/prosody/config/data/big.bin": [1000, 1000],
  "config/web/acme/account.json": [1000, 1000],
  "config/jvb/private": [1000, 1000],
  "config/web/cert-link.pem": [1000, 1000],
  "config/jicofo/a/b/c/d/deep.conf": [1001, 1002],
};

/**
 * A stand-in for /opt/jitsi with files of many kinds: binary, empty, nested, odd names, a symlink, owners
 * other than root (see OWNED), and modes that matter (.env 0600, an executable, a read-only file, a private
 * directory).
 */
export function makeJitsiTree(root: string): void {
  const file = (rel: string, content: string | Buffer, mode = 0o644) => {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    chmodSync(full, mode);
  };
  mkdirSync(root, { recursive: true });
  file(".env", "JWT_APP_SECRET=not-a-real-secret\nCONFIG=/opt/jitsi/state/config\n", 0o600);
  file(".jitsi-stack-release.json", JSON.stringify({ tag: "stable-11146-2", commit: "738058b4" }));
  file("docker-compose.yml", "services: {}\n");
  file("gen-passwords.sh", "#!/bin/sh\necho hi\n", 0o755);
  file("config/web/acme-certs/meet.example.com/key.pem", randomBytes(3000), 0o600);
  file("config/web/acme-certs/meet.example.com/fullchain.pem", "-----BEGIN CERTIFICATE-----\n", 0o644);
  file("config/web/acme/account.json", '{"id": 1}', 0o600);
  file("config/web/empty-file", "");
  file("config/prosody/config/data/big.bin", randomBytes(2 * 1024 * 1024));
  file("config/prosody/prosody-plugins-custom/readonly.lua", "-- ro\n", 0o444);
  file("config/jicofo/a/b/c/d/deep.conf", "deep\n");
  file("config/web/odd names/space and 'quote' \"dq\" $dollar `tick`.txt", "odd\n");
  file("config/web/odd names/-leading-dash", "dash\n");
  file("config/web/odd names/ünïcödé-ファイル", "unicode\n");
  file("config/web/odd names/back\\slash*star?", "glob\n");
  file("config/web/odd names/new\nline", "newline in name\n");
  file("config/jigasi/group-writable.conf", "g+w survives only with tar -p\n", 0o664);
  file("config/jigasi/world-writable", "", 0o666);
  mkdirSync(path.join(root, "config/storage/transcripts"), { recursive: true });
  chmodSync(path.join(root, "config/storage/transcripts"), 0o2775);
  mkdirSync(path.join(root, "config/jvb/private"), { recursive: true });
  chmodSync(path.join(root, "config/jvb/private"), 0o700);
  symlinkSync("acme-certs/meet.example.com/fullchain.pem", path.join(root, "config/web/cert-link.pem"));
  for (const rel of TRANSIENT) {
    if (/\.\w+$/.test(rel)) file(rel, "transient\n");
    else mkdirSync(path.join(root, rel), { recursive: true });
  }
  if (process.getuid?.() === 0) {
    for (const [rel, [uid, gid]] of Object.entries(OWNED)) lchownSync(path.join(root, rel), uid, gid);
  }
}

export interface Entry {
  type: "file" | "dir" | "symlink";
  mode: string;
  /** Numeric owner and group, as the containers see them. */
  uid: number;
  gid: number;
  sha256?: string;
  target?: string;
}

/**
 * Every entry under root (root itself as "."), with type, permission bits, numeric owner and group, and
 * content hash or link target.
 */
export function snapshot(root: string): Record<string, Entry> {
  const result: Record<string, Entry> = {};
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    const stat = lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    const { uid, gid } = stat;
    if (stat.isSymbolicLink()) {
      result[rel] = { type: "symlink", mode: "", uid, gid, target: readlinkSync(full) };
    } else if (stat.isDirectory()) {
      result[rel] = { type: "dir", mode, uid, gid };
      for (const name of readdirSync(full)) walk(rel === "." ? name : path.join(rel, name));
    } else {
      result[rel] = {
        type: "file",
        mode,
        uid,
        gid,
        sha256: createHash("sha256").update(readFileSync(full)).digest("hex"),
      };
    }
  };
  walk(".");
  return result;
}

export function withoutTransient(tree: Record<string, Entry>): Record<string, Entry> {
  return Object.fromEntries(Object.entries(tree).filter(([rel]) => !TRANSIENT.includes(rel)));
}

/** One member of a hand-made archive: the kinds a hostile or damaged backup could hold. */
export interface CraftedEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  linkpath?: string;
  content?: string;
}

/** An uncompressed tar (with its end-of-archive blocks) holding exactly these entries, framed by node-tar. */
export function craftTar(entries: CraftedEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? "");
    const header = new Header({
      path: entry.path,
      type: entry.type,
      linkpath: entry.linkpath,
      mode: entry.type === "Directory" ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: body.length,
      mtime: new Date("2025-06-01T00:00:00Z"),
      devmaj: entry.type.endsWith("Device") ? 1 : 0,
      devmin: entry.type.endsWith("Device") ? 3 : 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/**
 * A gzipped backup of `tree` (as backup.sh makes it, with GNU tar) with `extra` members appended, and a
 * manifest that matches it, so only the members themselves can be the reason for a refusal.
 */
export async function craftBackup(tree: string, extra: CraftedEntry[], archive: string): Promise<string> {
  const scratch = mkdtempSync(path.join(path.dirname(archive), ".craft-"));
  try {
    const base = path.join(scratch, "base.tar");
    const more = path.join(scratch, "more.tar");
    execFileSync("tar", ["-C", tree, "--numeric-owner", "-cf", base, "."]);
    writeFileSync(more, craftTar(extra));
    execFileSync("tar", ["-A", "-f", base, more]);
    writeFileSync(archive, gzipSync(readFileSync(base)));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const manifest = buildManifest({
    stack: "dev",
    createdAt: new Date("2025-06-01T12:30:05Z"),
    archive: path.basename(archive),
    info: await inspectArchive(archive),
    release: null,
    host: "127.0.0.1",
    jitsiDir: "/opt/jitsi",
  });
  const manifestFile = manifestPathFor(archive);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return manifestFile;
}
