import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StandIns } from "../../helpers/standins";

const SCRIPT = path.resolve("infra/vm/mount-state.sh");
const work = mkdtempSync(path.join(tmpdir(), "mount-state-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let serial = 0;
/** A VM stand-in: a device file (or none), blkid answering `fsType`, mount recording its calls. */
function vm(options: { attached: boolean; fsType?: string; mounted?: boolean }) {
  const dir = path.join(work, `vm-${++serial}`);
  const bin = new StandIns(path.join(dir, "bin"));
  const device = path.join(dir, "scsi-0HC_Volume_4242");
  if (options.attached) writeFileSync(device, "");
  const marker = path.join(dir, "mounted");
  if (options.mounted) writeFileSync(marker, "");
  bin
    .raw("mountpoint", `[ -f "${marker}" ]`)
    .logged("blkid", options.fsType ? `echo ${options.fsType}` : "exit 2")
    .logged("mount", `touch "${marker}"`)
    .raw("sleep", "exit 0");
  const fstab = path.join(dir, "fstab");
  writeFileSync(fstab, "# existing\n");
  const run = () =>
    spawnSync("sh", [SCRIPT, device, "/opt/jitsi/state"], {
      encoding: "utf8",
      env: bin.env({ FSTAB: fstab, DEVICE_WAIT_SECONDS: "10" }),
    });
  return { run, device, fstab, calls: () => readFileSync(bin.log, "utf8") };
}

describe("mount-state.sh: the state volume on the VM", () => {
  it("mounts an ext4 volume through an fstab line that orders it before Docker", () => {
    const v = vm({ attached: true, fsType: "ext4" });
    const result = v.run();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(readFileSync(v.fstab, "utf8")).toBe(
      `# existing\n${v.device} /opt/jitsi/state ext4 discard,nofail,x-systemd.before=docker.service,x-systemd.device-timeout=30s 0 2\n`,
    );
    expect(v.calls()).toContain("mount /opt/jitsi/state\n");
  });

  it("is safe to repeat: one fstab line, and no second mount", () => {
    const v = vm({ attached: true, fsType: "ext4" });
    expect(v.run().status).toBe(0);
    expect(v.run().status).toBe(0);
    expect(readFileSync(v.fstab, "utf8").split(v.device).length - 1).toBe(1);
    expect(v.calls().match(/^mount /gm)).toHaveLength(1);
  });

  it("asks for another try (exit 1) while the volume is not attached yet, and mounts nothing", () => {
    const v = vm({ attached: false });
    const result = v.run();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `${v.device} is not attached after 10 s; jitsi-meet.service will try again`,
    );
    expect(v.calls()).not.toContain("mount ");
  });

  it("refuses (exit 3) a device without ext4 and never formats it", () => {
    for (const fsType of ["xfs", undefined]) {
      const v = vm({ attached: true, fsType });
      const result = v.run();
      expect(result.status).toBe(3);
      expect(result.stderr).toContain(
        `refusing to mount ${v.device}: it holds ${fsType ?? "no filesystem"}, not ext4`,
      );
      expect(v.calls()).not.toMatch(/^(mount|mkfs)/m);
    }
  });

  it("prints its usage when called wrongly", () => {
    const result = spawnSync("sh", [SCRIPT], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^usage: /);
  });
});
