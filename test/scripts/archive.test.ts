import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { envFileValue, inspectArchive } from "../../scripts/lib/archive";
import { contentProblems } from "../../scripts/lib/manifest";
import { craftTar, type CraftedEntry } from "../helpers/jitsi-tree";

const scratch = mkdtempSync(path.join(os.tmpdir(), "jitsi-archive-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env: CraftedEntry = { path: "./.env", type: "File", content: "JWT_APP_SECRET=x\n" };
let counter = 0;

async function inspect(entries: CraftedEntry[]) {
  const file = path.join(scratch, `a${(counter += 1)}.tar.gz`);
  writeFileSync(file, gzipSync(craftTar([{ path: "./", type: "Directory" }, env, ...entries])));
  return inspectArchive(file);
}

describe("an archive's links and special files", () => {
  it.each<[string, CraftedEntry[], string]>([
    [
      "a symlink to an absolute path",
      [{ path: "./config", type: "SymbolicLink", linkpath: "/tmp/x" }],
      "./config -> /tmp/x (a symlink to an absolute path)",
    ],
    [
      "a symlink that climbs out with ..",
      [
        { path: "./config/", type: "Directory" },
        { path: "./config/up", type: "SymbolicLink", linkpath: "../../etc" },
      ],
      "./config/up -> ../../etc (a symlink that leads out of the directory)",
    ],
    [
      "a symlink that leaves through another symlink (s -> ., t -> s/..)",
      [
        { path: "./s", type: "SymbolicLink", linkpath: "." },
        { path: "./t", type: "SymbolicLink", linkpath: "s/.." },
      ],
      "./t -> s/.. (a symlink that leads out of the directory)",
    ],
    [
      "a hard link to ../../etc/passwd",
      [{ path: "./config/passwd", type: "Link", linkpath: "../../etc/passwd" }],
      "./config/passwd link to ../../etc/passwd (a hard link that leads out of the directory)",
    ],
    [
      "a hard link to an absolute path",
      [{ path: "./shadow", type: "Link", linkpath: "/etc/shadow" }],
      "./shadow link to /etc/shadow (a hard link to an absolute path)",
    ],
    [
      "a member written through a symlink",
      [
        { path: "./web", type: "SymbolicLink", linkpath: "config" },
        { path: "./web/x", type: "File", content: "x" },
      ],
      "./web/x (inside the symlink ./web)",
    ],
    ["a character device", [{ path: "./null", type: "CharacterDevice" }], "./null (a character device)"],
    ["a block device", [{ path: "./sda", type: "BlockDevice" }], "./sda (a block device)"],
    ["a FIFO", [{ path: "./pipe", type: "FIFO" }], "./pipe (a FIFO)"],
  ])("refuses %s, naming it", async (_what, entries, described) => {
    const info = await inspect(entries);
    expect(info.unsafeEntries).toEqual([described]);
    const problems = contentProblems(
      { fileCount: info.fileCount, entryCount: info.entryCount } as never,
      info,
    );
    expect(problems).toEqual([
      `it holds links or special files that could reach outside the directory: ${described}`,
    ]);
  });

  it("accepts links that stay inside, like Let's Encrypt's live/ -> ../../archive/ and GNU tar's hard links", async () => {
    const info = await inspect([
      { path: "./config/", type: "Directory" },
      { path: "./config/archive/", type: "Directory" },
      { path: "./config/archive/cert1.pem", type: "File", content: "pem" },
      { path: "./config/live/", type: "Directory" },
      { path: "./config/live/site/", type: "Directory" },
      { path: "./config/live/site/cert.pem", type: "SymbolicLink", linkpath: "../../archive/cert1.pem" },
      { path: "./config/same", type: "SymbolicLink", linkpath: "./archive/../archive" },
      { path: "./config/dangling", type: "SymbolicLink", linkpath: "not-there-yet" },
      { path: "./config/copy.pem", type: "Link", linkpath: "./config/archive/cert1.pem" },
      { path: "./root", type: "SymbolicLink", linkpath: "." },
    ]);
    expect(info.unsafeEntries).toEqual([]);
    expect(info.unsafePaths).toEqual([]);
  });

  it("still names paths outside the directory", async () => {
    const info = await inspect([{ path: "../escape", type: "File", content: "x" }]);
    expect(info.unsafePaths).toEqual(["../escape"]);
  });
});

describe("reading JWT_APP_SECRET from a backup's .env", () => {
  it.each<[string, string | undefined]>([
    ["JWT_APP_SECRET=abc\n", "abc"],
    ["A=1\nJWT_APP_SECRET=old\nJWT_APP_SECRET=new\n", "new"],
    ['JWT_APP_SECRET="quoted value"\r\n', "quoted value"],
    ["export JWT_APP_SECRET='single'\n", "single"],
    ["# JWT_APP_SECRET=commented\nJWT_APP_SECRET_OLD=x\n", undefined],
    ["JWT_APP_SECRET=\n", ""],
  ])("reads %j as docker compose would", (text, value) => {
    expect(envFileValue(text, "JWT_APP_SECRET")).toBe(value);
  });
});
