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
import { inspectArchive } from "../../scripts/lib/archive/archive";
import { buildManifest, DATA_DIR, manifestPathFor } from "../../scripts/lib/archive/manifest";

/** Where the data lives under the Jitsi directory ("state/config"), as backup and restore use it. */
export const DATA = DATA_DIR;

/** Files under the data directory that backups leave out on purpose (logs, scratch files, recordings). */
export const TRANSIENT = [
  "jvb/jvb.log",
  "web/nginx-error.log",
  "jibri/logs",
  "jibri/logs/recorder-0.txt",
  "tmp/web-load-test/index.html",
  "storage/jibri/recordings/meeting-1.mp4",
];

/**
 * The fixture's large binary file, random so that it does not compress. It spans several 64 KiB pipe buffers,
 * yet stays small: the tests copy, pack, send and hash it many times over (at 2 MiB it was a third of the
 * restore tests' CPU). Tests that need a transfer to last use growBigFile.
 */
export const BIG_FILE = { path: "prosody/config/data/big.bin", bytes: 256 * 1024 };

/**
 * Owners that differ from root's inside the data directory, set when the tests run as root (CI does): the
 * containers write as uid 1000, and one entry has an owner that exists nowhere, uid 1001 with gid 1002.
 */
export const OWNED: Record<string, [uid: number, gid: number]> = {
  prosody: [1000, 1000],
  [BIG_FILE.path]: [1000, 1000],
  "web/acme/account.json": [1000, 1000],
  "jvb/private": [1000, 1000],
  "web/cert-link.pem": [1000, 1000],
  "jicofo/a/b/c/d/deep.conf": [1001, 1002],
  "tmp/web-load-test": [1000, 1000],
  "storage/jibri/recordings": [1000, 1000],
};

/**
 * Makes the big file in the Jitsi directory `jitsiDir` `bytes` long (random bytes, same owner and mode): for
 * tests that cut, throttle or interrupt a transfer, which must still be under way when they act.
 */
export function growBigFile(jitsiDir: string, bytes = 2 * 1024 * 1024): void {
  writeFileSync(path.join(jitsiDir, DATA, BIG_FILE.path), randomBytes(bytes));
}

/** The secret values in the fixture's .env: no output of backup or restore may ever show them. */
export const ENV_SECRETS = ["backup-era-jwt-secret-4f9a2c0d", "backup-era-jicofo-password-77e1b3"];

/** The fixture's .env, as cloud-init writes it (values are unquoted; two of them are secrets). */
export const ENV_TEXT = [
  "# Written by jitsi-stack; see README.md. Values are unquoted by design.",
  "CONFIG=/opt/jitsi/state/config",
  "JITSI_IMAGE_VERSION=stable-11146-2",
  "ENABLE_LOBBY=0",
  "ENABLE_GUESTS=0",
  "JWT_APP_ID=jitsi-stack",
  `JWT_APP_SECRET=${ENV_SECRETS[0]}`,
  `JICOFO_AUTH_PASSWORD=${ENV_SECRETS[1]}`,
  "",
].join("\n");

/** The release the fixture's VM runs, as in the stack outputs of test/helpers/fake-pulumi.ts. */
export const RELEASE = { tag: "stable-11146-2", commit: "738058b44bc3029ea289bea180cd3838f702af8e" };

/** The release file's text, as cloud-init writes it. */
export function releaseFileText(release: { tag: string; commit: string }): string {
  return `${JSON.stringify(release, null, 2)}\n`;
}

/**
 * A stand-in for /opt/jitsi in the VM layout: .env, the release file, a checkout, managed-config, and the
 * state volume (with lost+found) holding the data directory. The data has files of many kinds: binary,
 * empty, nested, odd names, a symlink, owners other than root (see OWNED), modes that matter (a key 0600,
 * an executable, a read-only file, a private directory, a setgid directory), and things backups leave out
 * (TRANSIENT).
 */
export function makeJitsiTree(root: string): void {
  const file = (rel: string, content: string | Buffer, mode = 0o644) => {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    chmodSync(full, mode);
  };
  const dir = (rel: string, mode = 0o755) => {
    mkdirSync(path.join(root, rel), { recursive: true });
    chmodSync(path.join(root, rel), mode);
  };
  const data = (rel: string) => `${DATA}/${rel}`;
  mkdirSync(root, { recursive: true });
  file(".env", ENV_TEXT, 0o600);
  file(".jitsi-stack-release.json", releaseFileText(RELEASE));
  file("docker-compose.yml", "services: {}\n");
  file("gen-passwords.sh", "#!/bin/sh\necho hi\n", 0o755);
  file(".git/HEAD", `${RELEASE.commit}\n`);
  file("managed-config/web/nginx-custom/token-issuer.conf", "location /token { }\n");
  dir("state/lost+found", 0o700);
  file("state/lost+found/#4711", "a block fsck found\n");
  file(data("web/acme-certs/meet.example.com/key.pem"), randomBytes(3000), 0o600);
  file(data("web/acme-certs/meet.example.com/fullchain.pem"), "-----BEGIN CERTIFICATE-----\n", 0o644);
  file(data("web/acme/account.json"), '{"id": 1}', 0o600);
  file(data("web/empty-file"), "");
  file(data("web/nginx-custom/token-issuer.conf"), "location /token { }\n");
  file(data(BIG_FILE.path), randomBytes(BIG_FILE.bytes));
  file(data("prosody/prosody-plugins-custom/readonly.lua"), "-- ro\n", 0o444);
  file(data("jicofo/a/b/c/d/deep.conf"), "deep\n");
  file(data("web/odd names/space and 'quote' \"dq\" $dollar `tick`.txt"), "odd\n");
  file(data("web/odd names/-leading-dash"), "dash\n");
  file(data("web/odd names/ünïcödé-ファイル"), "unicode\n");
  file(data("web/odd names/back\\slash*star?"), "glob\n");
  file(data("web/odd names/new\nline"), "newline in name\n");
  file(data("jigasi/group-writable.conf"), "g+w survives only with tar -p\n", 0o664);
  file(data("jigasi/world-writable"), "", 0o666);
  dir(data("storage/transcripts"), 0o2775);
  dir(data("jvb/private"), 0o700);
  dir(data("tmp/web-load-test"));
  dir(data("storage/jibri/recordings"));
  symlinkSync("acme-certs/meet.example.com/fullchain.pem", path.join(root, data("web/cert-link.pem")));
  for (const rel of TRANSIENT) {
    if (/\.\w+$/.test(rel)) file(data(rel), "transient\n");
    else dir(data(rel));
  }
  if (process.getuid?.() === 0) {
    for (const [rel, [uid, gid]] of Object.entries(OWNED)) lchownSync(path.join(root, data(rel)), uid, gid);
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

/** A snapshot of the data directory without what backups leave out. */
export function withoutTransient(tree: Record<string, Entry>): Record<string, Entry> {
  return Object.fromEntries(Object.entries(tree).filter(([rel]) => !TRANSIENT.includes(rel)));
}

/** A snapshot of the Jitsi directory without the state volume: .env, the release file, the checkout. */
export function outsideState(tree: Record<string, Entry>): Record<string, Entry> {
  return Object.fromEntries(Object.entries(tree).filter(([rel]) => !/^state(\/|$)/.test(rel)));
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
 * A gzipped backup of the Jitsi directory `jitsiDir` (as backup.sh makes it, with GNU tar: .env, the release
 * file and the data directory) with `extra` members appended, and a manifest that matches it, so only the
 * members themselves can be the reason for a refusal.
 */
export async function craftBackup(jitsiDir: string, extra: CraftedEntry[], archive: string): Promise<string> {
  const scratch = mkdtempSync(path.join(path.dirname(archive), ".craft-"));
  try {
    const base = path.join(scratch, "base.tar");
    const more = path.join(scratch, "more.tar");
    const members = ["./.env", "./.jitsi-stack-release.json", `./${DATA}`];
    execFileSync("tar", ["-C", jitsiDir, "--numeric-owner", "-cf", base, ...members]);
    writeFileSync(more, craftTar(extra));
    execFileSync("tar", ["-A", "-f", base, more]);
    // The fastest compression: what these archives hold matters, not how small they are.
    writeFileSync(archive, gzipSync(readFileSync(base), { level: 0 }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const info = await inspectArchive(archive);
  const manifest = buildManifest({
    stack: "dev",
    createdAt: new Date("2025-06-01T12:30:05Z"),
    archive: path.basename(archive),
    info,
    release: info.release,
    host: "127.0.0.1",
    jitsiDir: "/opt/jitsi",
  });
  const manifestFile = manifestPathFor(archive);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return manifestFile;
}

/**
 * A backup as jitsi-stack made it before format 2: the whole Jitsi directory with the data at ./config,
 * and the manifest that went with it, as that version wrote it.
 */
export async function craftFormat1Backup(jitsiDir: string, archive: string): Promise<string> {
  execFileSync("tar", [
    "-C",
    jitsiDir,
    "--numeric-owner",
    `--transform=s,^\\./${DATA},./config,`,
    "--exclude=./state/lost+found",
    "--exclude=./managed-config",
    "-czf",
    archive,
    ".",
  ]);
  const info = await inspectArchive(archive);
  const manifest = {
    format: "jitsi-stack-backup/1",
    stack: "dev",
    createdAt: "2025-06-01T12:30:05.000Z",
    archive: path.basename(archive),
    sha256: info.sha256,
    size: info.size,
    fileCount: info.fileCount,
    entryCount: info.entryCount,
    jitsiRelease: RELEASE,
    source: { host: "203.0.113.10", jitsiDir: "/opt/jitsi" },
    excluded: ["*.log", "config/*/logs/", "config/tmp/"],
  };
  const manifestFile = manifestPathFor(archive);
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  return manifestFile;
}
