import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { recordingsDir } from "../../scripts/lib/recording/recordings";
import { recorderChecks } from "../../scripts/lib/verify/recorders";
import { jibriHealth } from "../helpers/jitsiApi";
import { useFakeVmOverSsh } from "../helpers/jitsi-server";

/**
 * verify's recorder rows over a real SSH connection (sshd on 127.0.0.1 standing in for a recorder).
 * Docker does not run here: the recorder's docker is a script that answers as Jibri's health API and the
 * upload script's --check do (both tested for real elsewhere: test/infra/vm/recordingUpload.test.ts).
 */
const fixture = useFakeVmOverSsh();

function fakeDocker(health: string | undefined, check: { ok: boolean; text: string }): string {
  const file = path.join(fixture.vm.root, "bin", "docker");
  writeFileSync(
    file,
    [
      "#!/bin/sh",
      'case " $* " in',
      // Only the exact call recorder-status.sh makes: curl is in the jibri image (docker-jitsi-meet@stable-11146-2
      // base/Dockerfile installs it) and Jibri's API listens on 127.0.0.1:2222 in the container (jibri reference.conf).
      `  *" exec -T jibri curl -fsS http://127.0.0.1:2222/jibri/api/v1.0/health "*) ${health === undefined ? "echo 'service \"jibri\" is not running' >&2; exit 1" : `printf '%s\\n' '${health}'`} ;;`,
      `  *" run "*) echo '${check.text}'; exit ${check.ok ? 0 : 1} ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  return file;
}

describe("verify's recorder rows", () => {
  it("pass for a healthy, idle Jibri whose keys write to the bucket, and warn about waiting recordings", async () => {
    const docker = fakeDocker(jibriHealth("IDLE", "HEALTHY"), {
      ok: true,
      text: "bucket meet-recordings at https://fsn1.your-objectstorage.com is writable",
    });
    mkdirSync(path.join(recordingsDir(fixture.vm.jitsiDir), "waitingsession"), { recursive: true });
    const rows = await recorderChecks([{ name: "recorder-1", ssh: fixture.vm.target, docker }]);
    expect(rows).toEqual([
      { name: "recorder-1: Jibri registered and healthy", ok: true, detail: "IDLE, HEALTHY" },
      {
        name: "recorder-1: bucket writable with its keys",
        ok: true,
        detail: "probe written, verified, deleted",
      },
      {
        name: "recorder-1: recordings waiting for upload",
        ok: true,
        warning: true,
        detail: "1 session(s); the retry timer uploads them every 10 minutes",
      },
    ]);
  });

  it("fail for a Jibri that reports itself unhealthy, and show it busy as it says", async () => {
    const docker = fakeDocker(jibriHealth("BUSY", "UNHEALTHY"), { ok: true, text: "writable" });
    const rows = await recorderChecks([{ name: "recorder-1", ssh: fixture.vm.target, docker }]);
    expect(rows[0]).toEqual({
      name: "recorder-1: Jibri registered and healthy",
      ok: false,
      detail: "BUSY, UNHEALTHY",
    });
  });

  it("fail for a stopped Jibri and refused keys, with the reason", async () => {
    const docker = fakeDocker(undefined, {
      ok: false,
      text: "recording-upload: bucket meet-recordings at https://fsn1.your-objectstorage.com is not writable: the bucket refused the access key",
    });
    const rows = await recorderChecks([{ name: "recorder-2", ssh: fixture.vm.target, docker }]);
    expect(rows.map((r) => [r.name, r.ok])).toEqual([
      ["recorder-2: Jibri registered and healthy", false],
      ["recorder-2: bucket writable with its keys", false],
      ["recorder-2: recordings waiting for upload", true],
    ]);
    expect(rows[0]!.detail).toContain('down: service "jibri" is not running');
    expect(rows[1]!.detail).toContain("the bucket refused the access key");
  });

  it("fail for a recorder SSH cannot reach", async () => {
    const rows = await recorderChecks([
      { name: "recorder-3", ssh: { ...fixture.vm.target, port: 1 }, docker: "/nonexistent" },
    ]);
    expect(rows).toEqual([expect.objectContaining({ name: "recorder-3: reachable over SSH", ok: false })]);
  });
});
