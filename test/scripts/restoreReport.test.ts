import { describe, expect, it } from "vitest";
import { dryRunReport, parseVmFacts, settingsWarning } from "../../scripts/lib/restoreReport";

/** Fields as restore.sh prints them: each one ended by a NUL. */
const fields = (...values: string[]) => Buffer.from(values.map((v) => `${v}\0`).join(""));

describe("what the VM's restore.sh reports", () => {
  it("reads the release, the settings that differ and the entry counts", () => {
    const stdout = Buffer.concat([
      fields("vm-release", "stable-11146-2", "738058b4"),
      fields("setting", "differ", "ENABLE_LOBBY", "setting", "vm-only", "JVB_ADVERTISE_IPS"),
      fields("entries", "41", "39"),
    ]);
    expect(parseVmFacts(stdout)).toEqual({
      vmRelease: { tag: "stable-11146-2", commit: "738058b4" },
      settings: [
        { kind: "differ", name: "ENABLE_LOBBY" },
        { kind: "vm-only", name: "JVB_ADVERTISE_IPS" },
      ],
      entries: { live: 41, backup: 39 },
    });
  });

  it("reads a VM without a release file as an unknown release", () => {
    expect(parseVmFacts(fields("vm-release", "", "")).vmRelease).toBeNull();
  });

  it("keeps what came before a record cut short by a dropped connection", () => {
    const stdout = Buffer.concat([fields("setting", "differ", "A"), Buffer.from("setting\0differ\0B")]);
    expect(parseVmFacts(stdout).settings).toEqual([{ kind: "differ", name: "A" }]);
  });
});

describe("what a dry run says", () => {
  const config = "/opt/jitsi/state/config";

  it("says what would move, and that .env, release and checkout stay", () => {
    const lines = dryRunReport(
      { vmRelease: null, settings: [], entries: { live: 40, backup: 40 } },
      "/opt/jitsi",
      config,
    );
    expect(lines).toEqual([
      "A restore would:",
      `  stop the stack, move ${config} (40 entries) to ${config}.before-restore-<UTC time> (kept), put the backup's state/config (40 entries) in its place, and start the stack;`,
      "  leave /opt/jitsi/.env, /opt/jitsi/.jitsi-stack-release.json and the checkout as they are (the backup's .env sets the same values).",
    ]);
  });

  it("has no settings warning when the settings match", () => {
    expect(settingsWarning([], "/opt/jitsi/.env")).toBeUndefined();
  });
});
