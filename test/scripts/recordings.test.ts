import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { VM_LAYOUT } from "../../config/versions";
import { RECORDER_LAYOUT } from "../../infra/render/recorder";
import { pendingOn, pendingWarning, recordingsDir } from "../../scripts/lib/recording/recordings";
import { runTeardown } from "../../scripts/lib/teardown/teardown";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";
import { useFakeVmOverSsh } from "../helpers/jitsi-server";

const fixture = useFakeVmOverSsh();

describe("recordings a recorder still holds", () => {
  it("are looked for where the recorder's Jibri writes them", () => {
    expect(recordingsDir(VM_LAYOUT.jitsiDir)).toBe(RECORDER_LAYOUT.recordings.host);
  });

  it("are listed over SSH (a real sshd standing in for a recorder), with failed uploads marked", async () => {
    const dir = recordingsDir(fixture.vm.jitsiDir);
    expect(dir).toBe(path.join(fixture.vm.jitsiDir, "state/config/storage/jibri/recordings"));
    mkdirSync(path.join(dir, "sessionone"), { recursive: true });
    writeFileSync(path.join(dir, "sessionone", "room_2026-11-30-10-00-00.mp4"), Buffer.alloc(64 * 1024));
    mkdirSync(path.join(dir, "sessiontwo"));
    writeFileSync(path.join(dir, "sessiontwo", "room_2026-11-30-11-00-00.mp4"), Buffer.alloc(8 * 1024));
    writeFileSync(path.join(dir, "sessiontwo", ".upload-failed"), "2026-11-30T11:05:00Z refused\n");

    const sessions = await pendingOn(fixture.vm.target);
    expect(sessions.map((s) => [s.session, s.failed])).toEqual([
      ["sessionone", false],
      ["sessiontwo", true],
    ]);
    expect(sessions[0]!.bytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it("are none on a recorder that has not recorded yet (no recordings directory)", async () => {
    expect(await pendingOn(fixture.vm.target)).toEqual([]);
  });
});

describe("teardown with recorders", () => {
  const outputs = sampleOutputs({
    recorders: [
      { index: 1, ipv4: "203.0.113.21", privateIp: "10.0.2.1" },
      { index: 2, ipv4: "203.0.113.22", privateIp: "10.0.2.2" },
    ],
  });

  async function teardown(
    pending: Awaited<ReturnType<NonNullable<Parameters<typeof runTeardown>[1]["pendingRecordings"]>>>,
  ) {
    const capture = captureIo();
    const pulumi = fakePulumi({ outputs });
    await runTeardown(
      { stack: "dev", skipBackup: true, assumeYes: true },
      {
        io: capture.io,
        run: pulumi.run,
        readOutputs: async () => outputs,
        backup: async () => "unused",
        pendingRecordings: async () => pending,
      },
    );
    return capture;
  }

  it("warns, before destroying, about recordings not yet in the bucket, naming recorder and session", async () => {
    const { err } = await teardown([
      {
        recorder: "recorder-1",
        host: "203.0.113.21",
        sessions: [{ session: "sessionone", bytes: 250e6, failed: true }],
      },
      {
        recorder: "recorder-2",
        host: "203.0.113.22",
        error: "ssh: connect to host 203.0.113.22 port 22: timed out",
      },
    ]);
    const text = err.join("\n");
    expect(text).toContain(
      "WARNING: recordings not yet in the bucket are lost when their recorder is destroyed:",
    );
    expect(text).toContain(
      "recorder-1 (203.0.113.21): 1 recording(s), 250.0 MB, not yet uploaded (1 failed to upload): sessionone",
    );
    expect(text).toContain("recorder-2 (203.0.113.22): could not check (ssh: connect to host");
    expect(text.indexOf("WARNING")).toBeLessThan(text.indexOf("Running pulumi destroy"));
  });

  it("says nothing when every recording is uploaded", async () => {
    const { err } = await teardown([
      { recorder: "recorder-1", host: "203.0.113.21", sessions: [] },
      { recorder: "recorder-2", host: "203.0.113.22", sessions: [] },
    ]);
    expect(err.join("\n")).not.toContain("WARNING");
    expect(pendingWarning([])).toEqual([]);
  });
});
