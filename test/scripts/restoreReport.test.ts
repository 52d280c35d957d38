import { describe, expect, it } from "vitest";
import { dryRunReport, parseVmFacts, settingsWarning } from "../../scripts/lib/restore/restoreReport";

/** Fields as restore.sh prints them: each one ended by a NUL. */
const fields = (...values: string[]) => Buffer.from(values.map((v) => `${v}\0`).join(""));

describe("what the VM's restore.sh reports", () => {
  it("reads the release, the settings that differ, the entry counts and the data changes", () => {
    const stdout = Buffer.concat([
      fields("vm-release", "stable-11146-2", "738058b4"),
      fields("setting", "differ", "ENABLE_LOBBY", "setting", "vm-only", "JVB_ADVERTISE_IPS"),
      fields("entries", "41", "39"),
      fields("data", "changed", "mode owner", "web/acme/account.json", "data", "added", "", "new\nline"),
    ]);
    expect(parseVmFacts(stdout)).toEqual({
      vmRelease: { tag: "stable-11146-2", commit: "738058b4" },
      settings: [
        { kind: "differ", name: "ENABLE_LOBBY" },
        { kind: "vm-only", name: "JVB_ADVERTISE_IPS" },
      ],
      entries: { live: 41, backup: 39 },
      data: [
        { kind: "changed", what: "mode owner", path: "web/acme/account.json" },
        { kind: "added", what: "", path: "new\nline" },
      ],
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

  it("says the data would not change when the backup's matches, and that .env, release and checkout stay", () => {
    const lines = dryRunReport(
      { vmRelease: null, settings: [], entries: { live: 40, backup: 40 }, data: [] },
      "/opt/jitsi",
      config,
    );
    expect(lines).toEqual([
      "A restore would:",
      `  stop the stack, move ${config} (40 entries) to ${config}.before-restore-<UTC time> (kept), put the backup's state/config (40 entries) in its place, and start the stack;`,
      `  change no entry of the data: the backup's state/config matches ${config} (types, modes, owners, contents);`,
      "  leave /opt/jitsi/.env, /opt/jitsi/.jitsi-stack-release.json and the checkout as they are (the backup's .env sets the same values).",
    ]);
  });

  it("names 10 entries of each kind, sorted, and counts the rest", () => {
    const data = Array.from({ length: 12 }, (_, i) => ({
      kind: "removed" as const,
      what: "",
      path: `prosody/data/${String(11 - i).padStart(2, "0")}.dat`,
    }));
    const lines = dryRunReport({ vmRelease: null, settings: [], data }, "/opt/jitsi", config);
    expect(lines).toContain(
      "  change the data: 0 changed, 0 added, 12 gone (what goes stays in the kept copy):",
    );
    expect(lines.filter((l) => l.startsWith("    gone"))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `    gone    prosody/data/${String(i).padStart(2, "0")}.dat`),
      "    gone    ... and 2 more",
    ]);
  });

  it("has no settings warning when the settings match", () => {
    expect(settingsWarning([], "/opt/jitsi/.env")).toBeUndefined();
  });
});
