import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { teardownMain } from "../../scripts/teardown";
import { runMain } from "../../scripts/lib/shared/cli";
import { checkBackup } from "../../scripts/lib/restore/restore";
import { manifestPathFor, parseManifest } from "../../scripts/lib/archive/manifest";
import { fakePulumi, resource, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";
import { partialDownloadUnderWay, useFakeVmOverSsh } from "../helpers/jitsi-server";
import { growBigFile } from "../helpers/jitsi-tree";
import { startProxy } from "../helpers/tcp-proxy";

const fixture = useFakeVmOverSsh();

/** The sshd stands in for the VM that the stack outputs would name. */
const targetFlags = () => ["--out", fixture.backups, ...fixture.vm.targetFlags];

/** The flags without --known-hosts and its file, so that the host key is pinned from the stack outputs. */
const withoutKnownHosts = (flags: string[]) =>
  flags.filter((_, i, all) => all[i] !== "--known-hosts" && all[i - 1] !== "--known-hosts");

/** Outputs of a stack whose VM is the sshd on 127.0.0.1 (so --host 127.0.0.1 names the stack's own VM). */
const localOutputs = (overrides: Parameters<typeof sampleOutputs>[0] = {}) =>
  sampleOutputs({ sshHost: "127.0.0.1", ipv4: "127.0.0.1", sshCommand: "ssh root@127.0.0.1", ...overrides });

async function teardown(
  argv: string[],
  pulumi: ReturnType<typeof fakePulumi>,
  ask?: (q: string) => Promise<string>,
) {
  const capture = captureIo();
  const code = await runMain(() => teardownMain(argv, capture.io, pulumi.run, ask), capture.io);
  return { code, ...capture };
}

const backupFiles = () =>
  existsSync(path.join(fixture.backups, "dev"))
    ? readdirSync(path.join(fixture.backups, "dev")).filter((n) => n.endsWith(".tar.gz"))
    : [];

describe("teardown", () => {
  it("backs up first, asks for the stack name, then runs pulumi destroy", async () => {
    let backupsWhenDestroyed: string[] = [];
    const pulumi = fakePulumi({
      outputs: localOutputs(),
      onDestroy: () => (backupsWhenDestroyed = backupFiles()),
    });
    const questions: string[] = [];
    const result = await teardown(["--stack", "dev", ...targetFlags()], pulumi, async (q) => {
      questions.push(q);
      expect(backupFiles()).toHaveLength(1); // the backup exists before the question is asked
      return "dev\n";
    });
    expect(result.code).toBe(0);
    expect(backupsWhenDestroyed).toHaveLength(1);
    expect(questions).toEqual([
      "This destroys https://meet.example.com/ (stack 'dev'). Type the stack name to go on: ",
    ]);
    expect(pulumi.calls).toEqual([
      "pulumi stack output --json --show-secrets --stack dev",
      "pulumi stack export --stack dev",
      "pulumi destroy --stack dev --yes --non-interactive",
      "pulumi stack export --stack dev",
    ]);
    expect(result.text()).not.toContain(sampleOutputs().jwtAppSecret);
    const archive = path.join(fixture.backups, "dev", backupFiles()[0]!);
    expect(result.err).toContain(
      `  To bring its data (certificates, Prosody's data) into the stack once it is deployed again: npm run restore -- --stack dev --from ${archive}`,
    );
  });

  it("the backup it makes holds the data and .env and the release file, and is one restore accepts", async () => {
    const pulumi = fakePulumi({ outputs: localOutputs() });
    const result = await teardown(["--stack", "dev", "--yes", ...targetFlags()], pulumi);
    expect(result.code).toBe(0);
    const archive = path.join(fixture.backups, "dev", backupFiles()[0]!);
    const { manifest, info } = await checkBackup({
      archive,
      manifest: manifestPathFor(archive),
      stack: "dev",
      allowOtherStack: false,
    });
    expect(manifest.format).toBe("jitsi-stack-backup/2");
    expect(info).toMatchObject({ hasData: true, hasEnv: true, strayEntries: [], unsafeEntries: [] });
    expect(manifest.jitsiRelease).toEqual({
      tag: sampleOutputs().jitsiRelease,
      commit: sampleOutputs().jitsiCommit,
    });
  });

  it("destroys nothing when a different name is typed", async () => {
    const pulumi = fakePulumi({ outputs: localOutputs() });
    const result = await teardown(["--stack", "dev", ...targetFlags()], pulumi, async () => "prod");
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toContain(
      "Teardown cancelled: 'prod' is not 'dev'. Nothing was destroyed.",
    );
    expect(pulumi.calls.some((c) => c.includes("destroy"))).toBe(false);
  });

  it("--yes skips the question (CI); without it and without a terminal it refuses", async () => {
    const refused = fakePulumi({});
    const noTty = await teardown(["--stack", "dev", "--skip-backup"], refused, undefined);
    expect(noTty.code).toBe(1);
    expect(noTty.err.join("\n")).toMatch(/needs the stack name typed at a terminal; in CI pass --yes/);
    expect(refused.calls).toEqual([]);

    const pulumi = fakePulumi({});
    const ci = await teardown(["--stack", "dev", "--yes", "--skip-backup"], pulumi, undefined);
    expect(ci.code).toBe(0);
    expect(pulumi.calls).toContain("pulumi destroy --stack dev --yes --non-interactive");
    expect(ci.err.join("\n")).toContain("Skipping the backup (--skip-backup).");
    expect(backupFiles()).toEqual([]);
  });

  it("destroys bridges without draining them: the whole deployment goes, and a drain would only wait or fail halfway", async () => {
    const pulumi = fakePulumi({});
    const result = await teardown(["--stack", "dev", "--yes", "--skip-backup"], pulumi, undefined);
    expect(result.code).toBe(0);
    expect(pulumi.destroyOptions()?.env).toEqual({ JITSI_SKIP_DRAIN: "all" });
  });

  it("refuses a stack with delete protection on and says how to lift it", async () => {
    const pulumi = fakePulumi({ outputs: localOutputs({ deleteProtection: true }) });
    const result = await teardown(["--stack", "dev", "--yes", ...targetFlags()], pulumi);
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toContain(
      "pulumi config set jitsi:deleteProtection false --stack dev && pulumi up --stack dev",
    );
    expect(pulumi.calls).toEqual(["pulumi stack output --json --show-secrets --stack dev"]);
    expect(backupFiles()).toEqual([]);
  });

  it("refuses a protected stack at a terminal too, before asking, backing up or destroying", async () => {
    const pulumi = fakePulumi({ outputs: localOutputs({ deleteProtection: true }) });
    const questions: string[] = [];
    const result = await teardown(["--stack", "dev", ...targetFlags()], pulumi, async (q) => {
      questions.push(q);
      return "dev";
    });
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toContain(
      "Stack 'dev' has delete protection on, so teardown refuses it. To lift it: pulumi config set jitsi:deleteProtection false --stack dev && pulumi up --stack dev; then run teardown again. Nothing was destroyed.",
    );
    expect(questions).toEqual([]);
    expect(pulumi.calls).toEqual(["pulumi stack output --json --show-secrets --stack dev"]);
    expect(backupFiles()).toEqual([]);
    expect(existsSync(path.join(fixture.backups, "dev"))).toBe(false);
  });

  it("stops before destroying when the backup fails, and names --skip-backup", async () => {
    const pulumi = fakePulumi({ outputs: localOutputs() });
    const flags = targetFlags();
    flags[flags.indexOf("--jitsi-dir") + 1] = path.join(fixture.vm.opt, "missing");
    const result = await teardown(["--stack", "dev", "--yes", ...flags], pulumi);
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toMatch(/backup failed: .*missing does not exist.*pass --skip-backup/);
    expect(pulumi.calls.some((c) => c.includes("destroy"))).toBe(false);
  });

  it("stops when SSH is closed, naming jitsi:adminCidrs", async () => {
    const pulumi = fakePulumi({ outputs: sampleOutputs({ sshCommand: undefined }) });
    const result = await teardown(["--stack", "dev", "--yes", "--out", fixture.backups], pulumi);
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toMatch(/add your IP to jitsi:adminCidrs.*--skip-backup/);
    expect(pulumi.calls.some((c) => c.includes("destroy"))).toBe(false);
  });

  it("reports what outlives the destroy and still costs money", async () => {
    const ip = resource("hcloud:index/primaryIp:PrimaryIp", "meet-ipv4");
    const volume = resource("hcloud:index/volume:Volume", "recordings", { retainOnDelete: true });
    const record = resource("cloudflare:index/dnsRecord:DnsRecord", "meet-a");
    const key = resource("hcloud:index/sshKey:SshKey", "admin-key");
    const pulumi = fakePulumi({ before: [ip, volume, record, key], after: [record], destroyExitCode: 1 });
    const result = await teardown(["--stack", "dev", "--yes", "--skip-backup"], pulumi);
    expect(result.code).toBe(1);
    const out = result.out.join("\n");
    expect(out).toContain("volume (billed per GB): recordings (id recordings-id) - retainOnDelete");
    expect(out).toContain(
      "DNS record (free, but still points at the old IP): meet-a (id meet-a-id) - still in the stack",
    );
    expect(out).not.toContain("meet-ipv4");
    expect(out).not.toContain("admin-key");
    expect(result.err.join("\n")).toContain("pulumi destroy failed (exit 1)");
  });

  describe("names each billable kind that outlives the destroy", () => {
    const kinds: [string, string][] = [
      ["hcloud:index/server:Server", "server (billed hourly)"],
      ["hcloud:index/primaryIp:PrimaryIp", "primary IP (billed while it exists)"],
      ["hcloud:index/floatingIp:FloatingIp", "floating IP (billed while it exists)"],
      ["hcloud:index/volume:Volume", "volume (billed per GB)"],
      ["hcloud:index/snapshot:Snapshot", "snapshot (billed per GB)"],
      ["hcloud:index/loadBalancer:LoadBalancer", "load balancer (billed hourly)"],
      ["cloudflare:index/dnsRecord:DnsRecord", "DNS record (free, but still points at the old IP)"],
      ["cloudflare:index/record:Record", "DNS record (free, but still points at the old IP)"],
    ];

    it.each(kinds)("%s, kept by retainOnDelete or left in the stack", async (type, what) => {
      const kept = resource(type, "kept", { retainOnDelete: true });
      const stuck = resource(type, "stuck");
      const locked = resource(type, "locked", { protect: true });
      const gone = resource(type, "gone");
      const pulumi = fakePulumi({
        before: [kept, stuck, locked, gone],
        after: [stuck, locked],
        destroyExitCode: 1, // a protected resource stops pulumi destroy
      });
      const result = await teardown(["--stack", "dev", "--yes", "--skip-backup"], pulumi);
      expect(result.code).toBe(1);
      const out = result.out.join("\n");
      expect(out).toContain("Left behind (check the Hetzner and Cloudflare consoles):");
      const rows = result.out.filter((line) => line.startsWith("  "));
      expect(rows).toEqual([
        `  ${what}: kept (id kept-id) - retainOnDelete: kept in the cloud, no longer in the stack`,
        `  ${what}: stuck (id stuck-id) - still in the stack (destroy stopped)`,
        `  ${what}: locked (id locked-id) - protected in the stack (pulumi state unprotect)`,
      ]);
      expect(out).not.toContain("gone");
      expect(out).not.toContain("Nothing billable is left");
    });
  });

  it("says nothing billable is left after a clean destroy", async () => {
    const pulumi = fakePulumi({ before: [resource("hcloud:index/server:Server", "meet")], after: [] });
    const result = await teardown(["--stack", "dev", "--yes", "--skip-backup"], pulumi);
    expect(result.code).toBe(0);
    expect(result.out.join("\n")).toContain("Nothing billable is left in the stack.");
  });

  it("refuses a --host that is not the stack's VM (exit 2), before any backup or destroy", async () => {
    const pulumi = fakePulumi({});
    const result = await teardown(["--stack", "dev", "--yes", ...targetFlags()], pulumi);
    expect(result.code).toBe(2);
    expect(result.err.join("\n")).toMatch(
      /--host 127\.0\.0\.1 is not the VM of stack 'dev' \(its sshHost and ipv4 outputs are 203\.0\.113\.10\).*--allow-other-host/,
    );
    expect(result.err).toHaveLength(1);
    expect(pulumi.calls).toEqual(["pulumi stack output --json --show-secrets --stack dev"]);
    expect(backupFiles()).toEqual([]);
  });

  it("--allow-other-host backs up another host on purpose, then destroys", async () => {
    const pulumi = fakePulumi({});
    const result = await teardown(
      ["--stack", "dev", "--yes", "--allow-other-host", ...targetFlags()],
      pulumi,
    );
    expect(result.code).toBe(0);
    expect(backupFiles()).toHaveLength(1);
    expect(pulumi.calls).toContain("pulumi destroy --stack dev --yes --non-interactive");
  });

  it("--allow-other-host needs --host", async () => {
    const pulumi = fakePulumi({});
    const result = await teardown(["--stack", "dev", "--yes", "--allow-other-host"], pulumi);
    expect(result.code).toBe(2);
    expect(result.err.join("\n")).toMatch(/--allow-other-host needs --host/);
    expect(pulumi.calls).toEqual([]);
  });

  it("records the stack's Jitsi release in the backup manifest when the VM has no release file", async () => {
    rmSync(path.join(fixture.vm.jitsiDir, ".jitsi-stack-release.json"));
    const pulumi = fakePulumi({ outputs: localOutputs() });
    const result = await teardown(["--stack", "dev", "--yes", ...targetFlags()], pulumi);
    expect(result.code).toBe(0);
    const [archive] = backupFiles();
    const manifest = parseManifest(
      readFileSync(manifestPathFor(path.join(fixture.backups, "dev", archive!)), "utf8"),
    );
    expect(manifest.jitsiRelease).toEqual({
      tag: "stable-11146-2",
      commit: "738058b44bc3029ea289bea180cd3838f702af8e",
    });
  });

  it("pins the stack's host key for its own --host, and stops on a host-key mismatch before destroying", async () => {
    const pinned = withoutKnownHosts(targetFlags());
    const good = fakePulumi({ outputs: localOutputs({ sshHostPublicKey: fixture.sshd.hostPublicKey }) });
    const ok = await teardown(["--stack", "dev", "--yes", ...pinned], good);
    expect(ok.code).toBe(0);
    expect(ok.err.join("\n")).not.toMatch(/trusted on first use/);
    expect(backupFiles()).toHaveLength(1);

    const wrongKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbA9JzqpmfJSDYcM+WHmPkNqqcBsBm8+GJ3bbq/jqQW";
    const bad = fakePulumi({ outputs: localOutputs({ sshHostPublicKey: wrongKey }) });
    const refused = await teardown(["--stack", "dev", "--yes", ...pinned], bad);
    expect(refused.code).toBe(1);
    expect(refused.err.join("\n")).toMatch(/host-key mismatch.*sshHostPublicKey.*Nothing was destroyed/s);
    expect(bad.calls.some((c) => c.includes("destroy"))).toBe(false);
    expect(backupFiles()).toHaveLength(1);
  });

  it("SIGTERM during the pre-teardown backup removes the temporary known_hosts and the partial file", async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), "jitsi-teardown-sig-"));
    const tmp = path.join(scratch, "tmp");
    const bin = path.join(scratch, "bin");
    mkdirSync(tmp);
    mkdirSync(bin);
    // A stand-in `pulumi` on PATH: teardown reads the outputs before the backup and calls nothing else by then.
    writeFileSync(
      path.join(scratch, "outputs.json"),
      JSON.stringify(localOutputs({ sshHostPublicKey: fixture.sshd.hostPublicKey })),
    );
    writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\ncat '${path.join(scratch, "outputs.json")}'\n`, {
      mode: 0o755,
    });
    growBigFile(fixture.vm.jitsiDir); // at 200 kB/s, the backup is still downloading when SIGTERM comes
    const proxy = await startProxy({ targetPort: fixture.sshd.port, bytesPerSecond: 200_000 });
    try {
      // The host key is pinned from the outputs, as the stack's own VM: no --known-hosts.
      const flags = withoutKnownHosts(fixture.vm.targetFlagsThrough(proxy.port));
      const child = spawn(
        process.execPath,
        ["--require", "esbuild-register", "scripts/teardown.ts", "--stack", "dev", "--yes"].concat([
          "--out",
          fixture.backups,
          ...flags,
        ]),
        {
          cwd: path.resolve(__dirname, "../.."),
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: tmp },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const dir = path.join(fixture.backups, "dev");
      await partialDownloadUnderWay(dir);
      expect(readdirSync(tmp).filter((n) => n.startsWith("jitsi-known-hosts-"))).toHaveLength(1);
      child.kill("SIGTERM");
      expect(await exit).toBe(143);
      expect(readdirSync(tmp).filter((n) => n.startsWith("jitsi-known-hosts-"))).toEqual([]);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await proxy.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("names the stack output problem when pulumi cannot read the stack", async () => {
    const pulumi = fakePulumi({ outputsExitCode: 255 });
    const result = await teardown(["--stack", "dev", "--yes"], pulumi);
    expect(result.code).toBe(1);
    expect(result.err.join("\n")).toMatch(
      /Could not read the outputs of stack 'dev' \(pulumi stack output: error: boom\)/,
    );
  });
});
