import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RecordingSettings } from "../../../config/recording";
import { recordingUploadSettings } from "../../../infra/render/recorder";
import { startS3Server, type S3Server } from "../../helpers/s3";
import { startProxy } from "../../helpers/tcp-proxy";

/**
 * infra/vm/recording-upload.sh, Jibri's finalize step, run for real: Debian's rclone (1.60, the
 * generation the jibri image ships) against an S3-compatible server on 127.0.0.1 that checks every
 * request's Signature V4 (test/helpers/s3.ts).
 */
const SCRIPT = path.resolve(__dirname, "../../../infra/vm/recording-upload.sh");
const ROOM = "team-standup";
const SESSION = "ohbqkvzyarwmxtdi";
const FILE = `${ROOM}_2026-11-30-14-05-09.mp4`;
const KEY = `meet/${ROOM}/2026-11-30/${SESSION}/${FILE}`;

let s3: S3Server;
let work: string;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["recordings"] });
});
afterAll(async () => {
  await s3.close();
});
afterEach(() => {
  spawnSync("umount", [path.join(work, "disk")], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
});

function recording(endpoint: string): RecordingSettings {
  return {
    enabled: true,
    recorders: [{ index: 1 }],
    serverType: "cx33",
    bucket: "recordings",
    region: "fsn1",
    endpoint,
    prefix: "meet/",
    minFreeGb: 10,
  };
}

/** The settings file as the recorder gets it, pointed at `endpoint`, with retries that do not wait. */
function settingsFile(
  endpoint: string,
  keys = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
) {
  const file = path.join(work, "recording-upload.env");
  writeFileSync(file, recordingUploadSettings(recording(endpoint), keys) + "UPLOAD_RETRY_SECONDS=0\n");
  return file;
}

/** A finished session as Jibri leaves it: the recording and metadata.json in a directory of its own. */
function session(root: string, size = 2 * 1024 * 1024, name = SESSION): { dir: string; media: Buffer } {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const media = randomBytes(size);
  writeFileSync(path.join(dir, FILE), media);
  writeFileSync(
    path.join(dir, "metadata.json"),
    JSON.stringify({ meeting_url: `https://meet.example.com/${ROOM}` }),
  );
  return { dir, media };
}

/** Runs the script without blocking the event loop (the S3 server runs in this process). */
function run(args: string[], settings: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("sh", [SCRIPT, ...args], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: work,
        TMPDIR: work,
        RECORDING_UPLOAD_SETTINGS: settings,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

/** The object as s3rver stored it on disk: read beside the protocol, not through rclone. */
function stored(key: string): Buffer | undefined {
  const dir = path.join(s3.directory, "recordings", path.dirname(key));
  const name = `${path.basename(key)}._S3rver_object`;
  return existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name)) : undefined;
}

describe("recording upload (finalize step)", () => {
  beforeAll(() => {
    expect(spawnSync("rclone", ["version"], { encoding: "utf8" }).stdout).toMatch(/^rclone v1\.\d+/);
  });

  it("uploads a recording to <prefix><room>/<date>/<session>/, verifies it, then deletes it locally", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const { dir, media } = session(path.join(work, "recordings"));
    const result = await run([dir], settingsFile(s3.endpoint));
    expect(result.stderr).toContain(`uploaded ${dir} to s3://recordings/meet/${ROOM}/2026-11-30/${SESSION}`);
    expect(result.status).toBe(0);
    expect(stored(KEY)?.equals(media)).toBe(true);
    expect(stored(`meet/${ROOM}/2026-11-30/${SESSION}/metadata.json`)?.toString()).toContain(ROOM);
    expect(existsSync(dir)).toBe(false);
  });

  it("keeps the recording when an upload is cut midway, and a later retry (the timer's --pending run) finishes it", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const root = path.join(work, "recordings");
    const { dir, media } = session(root, 3 * 1024 * 1024);
    // Every connection is cut after 256 KiB of the request body: no try can finish.
    const cutting = await startProxy({ targetPort: s3.port, cutUploadAfterBytes: 256 * 1024 });
    try {
      const failed = await run([dir], settingsFile(`http://127.0.0.1:${cutting.port}`));
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(/failed after 3 tries: .*; the recording stays on this recorder/);
      expect(cutting.cuts()).toBeGreaterThanOrEqual(3);
    } finally {
      await cutting.close();
    }
    expect(readFileSync(path.join(dir, FILE)).equals(media)).toBe(true);
    expect(readFileSync(path.join(dir, ".upload-failed"), "utf8")).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(stored(KEY)?.equals(media) ?? false).toBe(false);

    const retried = await run(["--pending", root], settingsFile(s3.endpoint));
    expect(retried.stderr).toContain("size and MD5 verified");
    expect(retried.status).toBe(0);
    expect(stored(KEY)?.equals(media)).toBe(true);
    expect(readdirSync(root)).toEqual([]);
  });

  it("retries within the finalize step: the first try is cut, the second uploads", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const { dir, media } = session(path.join(work, "recordings"), 3 * 1024 * 1024, "secondtry");
    // rclone tries each request twice (--low-level-retries 2): cutting two connections fails try 1.
    const proxy = await startProxy({ targetPort: s3.port, cutUploadAfterBytes: 256 * 1024, maxCuts: 2 });
    try {
      const result = await run([dir], settingsFile(`http://127.0.0.1:${proxy.port}`));
      expect(result.stderr).toMatch(/try 1 of 3 for .* failed/);
      expect(result.status).toBe(0);
      expect(proxy.cuts()).toBe(2);
    } finally {
      await proxy.close();
    }
    expect(stored(`meet/${ROOM}/2026-11-30/secondtry/${FILE}`)?.equals(media)).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    ["a wrong secret key", { secretAccessKey: "wrong-secret-key-0123456789abcdef" }],
    ["an unknown access key", { accessKeyId: "NOSUCHKEY0000000" }],
  ])("keeps the recording and says so clearly with %s", async (_, wrong) => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const { dir, media } = session(path.join(work, "recordings"), 64 * 1024, `wrong${Object.keys(wrong)[0]}`);
    const refusedBefore = s3.refused;
    const result = await run(
      [dir],
      settingsFile(s3.endpoint, {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        ...wrong,
      }),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "the bucket refused the access key (wrong jitsi:recordingAccessKeyId or jitsi:recordingSecretAccessKey",
    );
    expect(result.stderr).not.toContain(
      "secretAccessKey" in wrong ? wrong.secretAccessKey : s3.secretAccessKey,
    );
    expect(s3.refused).toBeGreaterThan(refusedBefore);
    expect(readFileSync(path.join(dir, FILE)).equals(media)).toBe(true);
  });

  it("uploads from a full disk, and frees it", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const disk = path.join(work, "disk");
    mkdirSync(disk);
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], { encoding: "utf8" });
    expect(mount.status, `mount a 4 MiB tmpfs (needs root): ${mount.stderr}`).toBe(0);
    const { dir, media } = session(disk, 3 * 1024 * 1024, "fulldisk");
    // Fill what is left, as ffmpeg would: the disk has no byte free.
    spawnSync("sh", ["-c", `cat /dev/zero > ${JSON.stringify(path.join(disk, "filler"))}`]);
    const free = () =>
      Number(spawnSync("df", ["-Pk", disk], { encoding: "utf8" }).stdout.split("\n")[1]!.split(/\s+/)[3]);
    expect(free()).toBe(0);

    const result = await run([dir], settingsFile(s3.endpoint));
    expect(result.stderr).toContain("size and MD5 verified");
    expect(result.status).toBe(0);
    expect(stored(`meet/${ROOM}/2026-11-30/fulldisk/${FILE}`)?.equals(media)).toBe(true);
    expect(free()).toBeGreaterThanOrEqual(3 * 1024);
  });

  it("--pending leaves a session that is still being recorded alone", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const root = path.join(work, "recordings");
    const live = path.join(root, "stillrecording");
    mkdirSync(live, { recursive: true });
    writeFileSync(path.join(live, FILE), randomBytes(1024));
    const old = path.join(root, "crashed");
    mkdirSync(old);
    writeFileSync(path.join(old, `crashed-room_2026-11-29-09-00-00.mp4`), randomBytes(1024));
    // Unchanged for seven hours and without metadata.json: Jibri never finalized it (a crash or reboot).
    const hoursAgo = new Date(Date.now() - 7 * 3600 * 1000);
    utimesSync(path.join(old, `crashed-room_2026-11-29-09-00-00.mp4`), hoursAgo, hoursAgo);

    const result = await run(["--pending", root], settingsFile(s3.endpoint));
    expect(result.status).toBe(0);
    expect(readdirSync(root)).toEqual(["stillrecording"]);
    expect(stored(`meet/crashed-room/2026-11-29/crashed/crashed-room_2026-11-29-09-00-00.mp4`)).toBeDefined();
  });

  it("--check (npm run verify) proves the bucket writable with the keys, and leaves no probe behind", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const good = await run(["--check"], settingsFile(s3.endpoint));
    expect(good.status).toBe(0);
    const probes = path.join(s3.directory, "recordings", "meet", ".jitsi-stack-checks");
    expect(existsSync(probes) ? readdirSync(probes).filter((f) => f.endsWith("_object")) : []).toEqual([]);
    expect(s3.accepted.some((r) => r.startsWith("DELETE /recordings/meet/.jitsi-stack-checks/"))).toBe(true);

    const bad = await run(
      ["--check"],
      settingsFile(s3.endpoint, {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: "wrong-secret-key-0123456789abcdef",
      }),
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("bucket recordings at");
    expect(bad.stderr).toContain("is not writable: the bucket refused the access key");
  });

  it("refuses to run without its settings", async () => {
    work = mkdtempSync(path.join(tmpdir(), "rec-upload-"));
    const result = await run(["/nonexistent"], path.join(work, "missing.env"));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("cannot read the settings file");
  });
});
