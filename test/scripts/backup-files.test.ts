import { describe, expect, it } from "vitest";
import { findLeftovers } from "../../scripts/lib/teardown/leftovers";
import {
  archiveMismatches,
  backupStamp,
  buildManifest,
  manifestPathFor,
  parseManifest,
} from "../../scripts/lib/archive/manifest";
import { backupsToDelete } from "../../scripts/lib/backup/retention";
import { knownHostsLine, sshArgs } from "../../scripts/lib/shared/ssh";
import { resource } from "../helpers/fake-pulumi";

const info = {
  sha256: "a".repeat(64),
  size: 1234,
  fileCount: 3,
  entryCount: 5,
  hasEnv: true,
  hasData: true,
  release: null,
  unsafePaths: [],
  strayEntries: [],
  unsafeEntries: [],
};

describe("backup names and manifests", () => {
  it("names backups by UTC second without colons, so they sort by time and work on every filesystem", () => {
    expect(backupStamp(new Date("2025-06-01T12:30:05.999Z"))).toBe("2025-06-01T12-30-05Z");
    expect(manifestPathFor("backups/dev/2025-06-01T12-30-05Z.tar.gz")).toBe(
      "backups/dev/2025-06-01T12-30-05Z.manifest.json",
    );
  });

  it("a manifest written by backup parses back unchanged", () => {
    const manifest = buildManifest({
      stack: "dev",
      createdAt: new Date("2025-06-01T12:30:05Z"),
      archive: "2025-06-01T12-30-05Z.tar.gz",
      info,
      release: { tag: "stable-11146-2", commit: "738058b" },
      host: "203.0.113.10",
      jitsiDir: "/opt/jitsi",
    });
    expect(parseManifest(JSON.stringify(manifest))).toEqual(manifest);
    expect(manifest).toMatchObject({
      format: "jitsi-stack-backup/2",
      source: { host: "203.0.113.10", jitsiDir: "/opt/jitsi", configDir: "/opt/jitsi/state/config" },
      contents: { data: "state/config", reference: [".env", ".jitsi-stack-release.json"] },
    });
    expect(archiveMismatches(manifest, "2025-06-01T12-30-05Z.tar.gz", info)).toEqual([]);
    expect(archiveMismatches(manifest, "2025-06-02T00-00-00Z.tar.gz", info)).toEqual([
      "the manifest describes 2025-06-01T12-30-05Z.tar.gz, not 2025-06-02T00-00-00Z.tar.gz",
    ]);
  });

  it.each([
    ["[]", /field '\(root\)' is wrong/],
    ['{"format":"other/1"}', /field 'format' is wrong/],
    ["", /not JSON/],
  ])("refuses a manifest like %j, naming the field", (text, reason) => {
    expect(() => parseManifest(text)).toThrow(reason);
  });

  it("refuses a format-1 manifest in one line that says what to do", () => {
    expect(() => parseManifest('{"format":"jitsi-stack-backup/1"}')).toThrow(
      /^it is a jitsi-stack-backup\/1 backup, which holds the whole Jitsi directory, .*make a new backup with 'npm run backup'/,
    );
  });

  it("refuses a manifest from a newer format, naming it", () => {
    expect(() => parseManifest('{"format":"jitsi-stack-backup/3"}')).toThrow(
      "it is a jitsi-stack-backup/3 backup, made by a newer jitsi-stack than this one (which reads jitsi-stack-backup/2); restore it with that version",
    );
  });
});

describe("retention", () => {
  const names = [
    "2025-06-03T00-00-00Z.tar.gz",
    "2025-06-01T00-00-00Z.tar.gz",
    "2025-06-02T00-00-00Z.tar.gz",
    "2025-06-01T00-00-00Z.manifest.json",
    "notes.txt",
    ".2025-06-04T00-00-00Z.tar.gz.partial",
    "2025-06-00-broken.tar.gz",
  ];
  it("deletes only backups beyond the newest N, oldest last", () => {
    expect(backupsToDelete(names, 1)).toEqual(["2025-06-02T00-00-00Z.tar.gz", "2025-06-01T00-00-00Z.tar.gz"]);
    expect(backupsToDelete(names, 3)).toEqual([]);
    expect(backupsToDelete(names, 10)).toEqual([]);
  });
});

describe("what outlives a teardown", () => {
  it("lists retained and remaining billable resources, and nothing free or destroyed", () => {
    const server = resource("hcloud:index/server:Server", "meet");
    const ip = resource("hcloud:index/primaryIp:PrimaryIp", "ipv4", { retainOnDelete: true });
    const key = resource("hcloud:index/sshKey:SshKey", "key", { retainOnDelete: true });
    const record = resource("cloudflare:index/dnsRecord:DnsRecord", "a", { protect: true });
    expect(findLeftovers([server, ip, key, record], [record])).toEqual([
      {
        what: "primary IP (billed while it exists)",
        name: "ipv4",
        id: "ipv4-id",
        why: expect.stringContaining("retainOnDelete"),
      },
      {
        what: expect.stringContaining("DNS record"),
        name: "a",
        id: "a-id",
        why: expect.stringContaining("pulumi state unprotect"),
      },
    ]);
    expect(findLeftovers([server], [])).toEqual([]);
  });
});

describe("the ssh command line", () => {
  it("never prompts, and trusts only the given known_hosts when one is given", () => {
    const args = sshArgs(
      {
        host: "203.0.113.10",
        port: 2222,
        user: "root",
        jitsiDir: "/opt/jitsi",
        identity: "/k",
        knownHosts: "/kh",
      },
      "true",
    );
    expect(args.join(" ")).toContain("-o BatchMode=yes");
    expect(args.join(" ")).toContain("-o UserKnownHostsFile=/kh -o StrictHostKeyChecking=yes");
    expect(args.slice(-3)).toEqual(["--", "203.0.113.10", "true"]);
    const defaults = sshArgs({ host: "h", port: 22, user: "root", jitsiDir: "/opt/jitsi" }, "true");
    expect(defaults.join(" ")).toContain("StrictHostKeyChecking=accept-new");
    expect(defaults).not.toContain("-i");
  });
});

describe("the pinned host key", () => {
  it("is written as a known_hosts line for the host, in [host]:port form off port 22", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTestOnly0123456789abcdefghij";
    expect(knownHostsLine({ host: "203.0.113.10", port: 22 }, key)).toBe(`203.0.113.10 ${key}\n`);
    expect(knownHostsLine({ host: "203.0.113.10", port: 2222 }, key)).toBe(`[203.0.113.10]:2222 ${key}\n`);
  });
});
