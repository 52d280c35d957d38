import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { inspectArchive } from "../../scripts/lib/archive/archive";
import { contentProblems } from "../../scripts/lib/archive/manifest";
import { craftTar, type CraftedEntry } from "../helpers/jitsi-tree";

const scratch = mkdtempSync(path.join(os.tmpdir(), "jitsi-archive-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The members every backup has: .env beside the data directory. */
const base: CraftedEntry[] = [
  { path: "./.env", type: "File", content: "JWT_APP_SECRET=x\n" },
  { path: "./state/config/", type: "Directory" },
];
let counter = 0;

async function inspect(entries: CraftedEntry[], start: CraftedEntry[] = base) {
  const file = path.join(scratch, `a${(counter += 1)}.tar.gz`);
  writeFileSync(file, gzipSync(craftTar([{ path: "./", type: "Directory" }, ...start, ...entries])));
  return inspectArchive(file);
}

/** contentProblems with a manifest whose counts match, so only the members can be the reason. */
function problems(info: Awaited<ReturnType<typeof inspect>>) {
  return contentProblems({ fileCount: info.fileCount, entryCount: info.entryCount } as never, info);
}

describe("an archive's links and special files", () => {
  it.each<[string, CraftedEntry[], string]>([
    [
      "a symlink to an absolute path",
      [{ path: "./state/config/web", type: "SymbolicLink", linkpath: "/tmp/x" }],
      "./state/config/web -> /tmp/x (a symlink to an absolute path)",
    ],
    [
      "a symlink that climbs out with ..",
      [
        { path: "./state/config/web/", type: "Directory" },
        { path: "./state/config/web/up", type: "SymbolicLink", linkpath: "../../etc" },
      ],
      "./state/config/web/up -> ../../etc (a symlink that leads out of state/config)",
    ],
    [
      "a symlink to the backup's .env, which stays inside the archive but not inside state/config",
      [{ path: "./state/config/env", type: "SymbolicLink", linkpath: "../../.env" }],
      "./state/config/env -> ../../.env (a symlink that leads out of state/config)",
    ],
    [
      "a symlink that leaves through another symlink (s -> ., t -> s/..)",
      [
        { path: "./state/config/s", type: "SymbolicLink", linkpath: "." },
        { path: "./state/config/t", type: "SymbolicLink", linkpath: "s/.." },
      ],
      "./state/config/t -> s/.. (a symlink that leads out of state/config)",
    ],
    [
      "a hard link to ../../etc/passwd",
      [{ path: "./state/config/passwd", type: "Link", linkpath: "../../etc/passwd" }],
      "./state/config/passwd link to ../../etc/passwd (a hard link that leads out of state/config)",
    ],
    [
      "a hard link to the backup's .env",
      [{ path: "./state/config/env", type: "Link", linkpath: "./.env" }],
      "./state/config/env link to ./.env (a hard link that leads out of state/config)",
    ],
    [
      "a hard link to an absolute path",
      [{ path: "./state/config/shadow", type: "Link", linkpath: "/etc/shadow" }],
      "./state/config/shadow link to /etc/shadow (a hard link to an absolute path)",
    ],
    [
      "a member written through a symlink",
      [
        { path: "./state/config/web", type: "SymbolicLink", linkpath: "jvb" },
        { path: "./state/config/web/x", type: "File", content: "x" },
      ],
      "./state/config/web/x (inside the symlink ./state/config/web)",
    ],
    [
      "a character device",
      [{ path: "./state/config/null", type: "CharacterDevice" }],
      "./state/config/null (a character device)",
    ],
    [
      "a block device",
      [{ path: "./state/config/sda", type: "BlockDevice" }],
      "./state/config/sda (a block device)",
    ],
    ["a FIFO", [{ path: "./state/config/pipe", type: "FIFO" }], "./state/config/pipe (a FIFO)"],
  ])("refuses %s, naming it", async (_what, entries, described) => {
    const info = await inspect(entries);
    expect(info.unsafeEntries).toEqual([described]);
    expect(problems(info)).toEqual([
      `it holds links or special files that could reach outside state/config: ${described}`,
    ]);
  });

  it("accepts links that stay inside, like Let's Encrypt's live/ -> ../../archive/ and GNU tar's hard links", async () => {
    const info = await inspect([
      { path: "./state/config/archive/", type: "Directory" },
      { path: "./state/config/archive/cert1.pem", type: "File", content: "pem" },
      { path: "./state/config/live/", type: "Directory" },
      { path: "./state/config/live/site/", type: "Directory" },
      {
        path: "./state/config/live/site/cert.pem",
        type: "SymbolicLink",
        linkpath: "../../archive/cert1.pem",
      },
      { path: "./state/config/same", type: "SymbolicLink", linkpath: "./archive/../archive" },
      { path: "./state/config/dangling", type: "SymbolicLink", linkpath: "not-there-yet" },
      { path: "./state/config/copy.pem", type: "Link", linkpath: "./state/config/archive/cert1.pem" },
      { path: "./state/config/root", type: "SymbolicLink", linkpath: "." },
    ]);
    expect(info.unsafeEntries).toEqual([]);
    expect(info.unsafePaths).toEqual([]);
    expect(info.strayEntries).toEqual([]);
    expect(problems(info)).toEqual([]);
  });

  it("still names paths outside the directory", async () => {
    const info = await inspect([{ path: "../escape", type: "File", content: "x" }]);
    expect(info.unsafePaths).toEqual(["../escape"]);
  });
});

describe("what a backup may hold besides state/config", () => {
  it("accepts .env, the release file and the state/ folder, and reads the release", async () => {
    const info = await inspect([
      { path: "./state/", type: "Directory" },
      {
        path: "./.jitsi-stack-release.json",
        type: "File",
        content: JSON.stringify({ tag: "stable-11146-2", commit: "738058b4" }),
      },
    ]);
    expect(info).toMatchObject({ hasEnv: true, hasData: true, strayEntries: [] });
    expect(info.release).toEqual({ tag: "stable-11146-2", commit: "738058b4" });
  });

  it.each<[string, CraftedEntry[], string]>([
    [
      "a compose file (a whole-directory backup)",
      [{ path: "./docker-compose.yml", type: "File" }],
      "./docker-compose.yml (a file)",
    ],
    ["the old data folder ./config", [{ path: "./config/", type: "Directory" }], "./config/ (a directory)"],
    [
      "lost+found beside the data",
      [{ path: "./state/lost+found/", type: "Directory" }],
      "./state/lost+found/ (a directory)",
    ],
    [
      "a symlink named .env",
      [{ path: "./.env", type: "SymbolicLink", linkpath: "/etc/shadow" }],
      "./.env (a symlink)",
    ],
    [
      "a symlink in place of ./state",
      [{ path: "./state", type: "SymbolicLink", linkpath: "/" }],
      "./state (a symlink)",
    ],
    ["a FIFO beside the data", [{ path: "./pipe", type: "FIFO" }], "./pipe (a FIFO)"],
  ])("refuses %s, naming it", async (_what, entries, described) => {
    const info = await inspect(entries);
    expect(info.strayEntries).toContain(described);
    expect(problems(info).join("; ")).toContain(
      "it holds entries that are not part of a backup (only ./state/config/ and ./.env, ./.jitsi-stack-release.json are)",
    );
  });

  it("refuses an archive without state/config, or with a symlink in its place", async () => {
    const none = await inspect([], [{ path: "./.env", type: "File", content: "A=1\n" }]);
    expect(problems(none)).toEqual(["it holds no state/config directory, so there is no data to restore"]);
    const link = await inspect(
      [{ path: "./state/config", type: "SymbolicLink", linkpath: "/etc" }],
      [{ path: "./.env", type: "File", content: "A=1\n" }],
    );
    expect(problems(link)).toEqual([
      "it holds entries that are not part of a backup (only ./state/config/ and ./.env, ./.jitsi-stack-release.json are): ./state/config (a symlink)",
      "it holds no state/config directory, so there is no data to restore",
    ]);
  });

  it("refuses an archive without .env (nothing to compare the settings with)", async () => {
    const info = await inspect([], [{ path: "./state/config/", type: "Directory" }]);
    expect(problems(info)).toEqual(["it holds no .env to compare the settings with"]);
  });
});
