import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BACKUP_HELP, backupMain } from "../../scripts/backup";
import { runMain } from "../../scripts/lib/shared/cli";
import { RESTORE_HELP, restoreMain } from "../../scripts/restore";
import { TEARDOWN_HELP, teardownMain } from "../../scripts/teardown";
import { verifyMain } from "../../scripts/verify";
import { fakePulumi, sampleOutputs } from "../helpers/fake-pulumi";
import { captureIo } from "../helpers/io";

const scratch = mkdtempSync(path.join(os.tmpdir(), "jitsi-flags-"));
const archive = path.join(scratch, "2025-06-01T12-30-05Z.tar.gz");
writeFileSync(archive, "");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Main = (
  argv: string[],
  io: ReturnType<typeof captureIo>["io"],
  run: ReturnType<typeof fakePulumi>["run"],
) => Promise<number>;

const mains: Record<string, Main> = {
  backup: backupMain,
  restore: restoreMain,
  teardown: (argv, io, run) => teardownMain(argv, io, run, undefined),
};

async function invoke(script: string, argv: string[]) {
  const pulumi = fakePulumi({});
  const capture = captureIo();
  const code = await runMain(() => mains[script]!(argv, capture.io, pulumi.run), capture.io);
  return { code, err: capture.err.join("\n"), out: capture.out.join("\n"), calls: pulumi.calls };
}

describe("bad flags get one clear line and exit code 2, before anything runs", () => {
  const cases: [string, string[], RegExp][] = [
    ["backup", [], /^backup: --stack is required \(the Pulumi stack name, like dev\)\.$/],
    [
      "backup",
      ["--stack"],
      /^backup: Option '--stack <value>' argument missing\. Run with --help for usage\.$/,
    ],
    [
      "backup",
      ["--stack", "dev", "--bogus"],
      /^backup: Unknown option '--bogus'.*Run with --help for usage\.$/,
    ],
    ["backup", ["--stack", "dev", "extra"], /^backup: Unexpected argument 'extra'.*Run with --help/],
    ["backup", ["--stack", "../etc"], /--stack must be a Pulumi stack name like dev .*got '\.\.\/etc'/],
    ["backup", ["--stack", "a/../b"], /--stack must be a Pulumi stack name/],
    ["backup", ["--stack", "dev", "--keep", "0"], /--keep must be a whole number from 1 to 1000 \(got '0'\)/],
    [
      "backup",
      ["--stack", "dev", "--keep", "three"],
      /--keep must be a whole number from 1 to 1000 \(got 'three'\)/,
    ],
    ["backup", ["--stack", "dev", "--keep", "-1"], /--keep/],
    ["backup", ["--stack", "dev", "--help=yes"], /^backup: Option '--help' does not take an argument/],
    ["backup", ["--stack", "dev", "--port", "22"], /--port needs --host/],
    ["backup", ["--stack", "dev", "--jitsi-dir", "/opt/jitsi"], /--jitsi-dir needs --host/],
    ["backup", ["--stack", "dev", "--host=-oProxyCommand=x"], /--host must be a hostname or IP address/],
    [
      "backup",
      ["--stack", "dev", "--host", "-oProxyCommand=x"],
      /^backup: Option '--host' argument is ambiguous/,
    ],
    [
      "backup",
      ["--stack", "dev", "--host", "h", "--port", "70000"],
      /--port must be a whole number from 1 to 65535/,
    ],
    ["backup", ["--stack", "dev", "--host", "h", "--port", "2x"], /--port must be a whole number/],
    [
      "backup",
      ["--stack", "dev", "--host", "h", "--jitsi-dir", "relative"],
      /--jitsi-dir must be an absolute directory/,
    ],
    [
      "backup",
      ["--stack", "dev", "--host", "h", "--jitsi-dir", "/"],
      /--jitsi-dir must be an absolute directory/,
    ],
    ["backup", ["--stack", "dev", "--host", "h", "--jitsi-dir", "/opt/../etc"], /--jitsi-dir must be/],
    ["backup", ["--stack", "dev", "--host", "h", "--user", "ro ot"], /--user must be a login name/],
    [
      "backup",
      ["--stack", "dev", "--host", "h", "--identity", "/nonexistent/key"],
      /--identity \/nonexistent\/key cannot be read \(ENOENT\)/,
    ],
    [
      "backup",
      ["--stack", "dev", "--known-hosts", "/nonexistent"],
      /--known-hosts \/nonexistent cannot be read/,
    ],
    ["restore", ["--stack", "dev"], /^restore: --from is required \(the backup archive to restore\)\.$/],
    ["restore", ["--from", archive], /^restore: --stack is required/],
    [
      "restore",
      ["--stack", "dev", "--from", "/nonexistent/x.tar.gz"],
      /--from \/nonexistent\/x\.tar\.gz does not exist/,
    ],
    [
      "restore",
      ["--stack", "dev", "--from", "backup.zip"],
      /--from must be a \.tar\.gz backup \(got 'backup\.zip'\)/,
    ],
    [
      "restore",
      ["--stack", "dev", "--from", archive, "--control", "systemctl; rm -rf /"],
      /--control must be an absolute path/,
    ],
    [
      "restore",
      ["--stack", "dev", "--from", archive, "--dry-run=no"],
      /Option '--dry-run' does not take an argument/,
    ],
    ["restore", ["--stack", "dev", "--from", archive, "--force"], /Unknown option '--force'/],
    ["teardown", [], /^teardown: --stack is required/],
    ["teardown", ["--stack", "dev", "--yes", "--keep", "1.5"], /--keep must be a whole number/],
    ["teardown", ["--stack", "dev", "--yes", "--user", "admin"], /--user needs --host/],
    ["teardown", ["--stack", "dev", "--force"], /Unknown option '--force'/],
  ];
  it.each(cases)("%s %j", async (script, argv, message) => {
    const result = await invoke(script, argv);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.err.split("\n")).toHaveLength(1);
    expect(result.calls).toEqual([]);
  });
});

describe("--help", () => {
  it.each(["backup", "restore", "teardown"])("%s --help prints usage with the exit codes", async (script) => {
    const result = await invoke(script, ["--help"]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(new RegExp(`^Usage: npm run ${script} -- --stack STACK`));
    expect(result.out).toMatch(/Exit codes: 0 .*; 1 .*; 2 bad usage/s);
  });
});

describe("--help says what the code does with an explicit target", () => {
  it("backup and restore: --host means the outputs are not read, and a new VM's key is accepted once", async () => {
    for (const script of ["backup", "restore"]) {
      const help = (await invoke(script, ["--help"])).out;
      expect(help).toContain(
        "--host HOST          SSH host of the VM (with --host, the stack outputs are not read)",
      );
      expect(help).toMatch(
        /default: the stack's sshHostPublicKey output;\s+with --host, a new VM's key is accepted once/,
      );
    }
    // And they are not: an explicit target runs no `pulumi stack output`.
    // Nothing listens on 127.0.0.1:1, so the SSH connection fails at once, after the point where outputs would be read.
    const result = await invoke("backup", ["--stack", "dev", "--host", "127.0.0.1", "--port", "1"]);
    expect(result.calls.filter((call) => call.includes("output"))).toEqual([]);
  });

  it("teardown: the outputs are still read with --host, and its key pinned unless another host is allowed", async () => {
    const help = (await invoke("teardown", ["--help"])).out;
    expect(help).toContain("the stack outputs are still read: the host must be the stack's VM");
    expect(help).toMatch(/default: the stack's sshHostPublicKey output;\s+with --allow-other-host/);
    expect(help).not.toContain("with --host, the stack outputs are not read");
  });
});

describe("--help and docs/operations.md agree", () => {
  const operations = readFileSync(path.resolve(__dirname, "../../docs/operations.md"), "utf8");
  /** The page's "## <title>" section, up to the next heading of that level or above. */
  const section = (title: string) => {
    const start = operations.indexOf(`\n## ${title}\n`);
    expect(start, title).toBeGreaterThanOrEqual(0);
    const end = operations.slice(start + 1).search(/\n##? /);
    return operations.slice(start, end < 0 ? undefined : start + 1 + end);
  };
  /** Flags the README shows for a script: in its `npm run` lines, and at the start of a code span. */
  const shownFlags = (text: string, script: string) => {
    const commands = [...text.matchAll(new RegExp(`npm run ${script} -- (.*)`, "g"))].map((m) => m[1]!);
    const spans = [...text.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
    return [...new Set([...commands.flatMap((c) => c.match(/--[a-z][a-z-]*/g) ?? []), ...spans])];
  };
  const listedFlags = (help: string) => [...help.matchAll(/^ {2}(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);

  it.each([
    ["backup", BACKUP_HELP, "Backup"],
    ["restore", RESTORE_HELP, "Restore"],
    ["teardown", TEARDOWN_HELP, "Teardown"],
  ])(
    "%s: every flag --help lists is in docs/operations.md, and every flag its section there shows is in --help",
    (script, help, title) => {
      const listed = listedFlags(help);
      expect(listed).toEqual(expect.arrayContaining(["--stack", "--help", "--host", "--jitsi-dir"]));
      expect(listed.filter((flag) => !new RegExp(`${flag}(?![a-z-])`).test(operations))).toEqual([]);
      expect(shownFlags(section(title), script).filter((flag) => !listed.includes(flag))).toEqual([]);
    },
  );
});

describe("stack outputs", () => {
  it("backup says SSH is closed and how to open it when the stack exports no sshCommand", async () => {
    const pulumi = fakePulumi({
      outputs: { ...sampleOutputs(), sshCommand: undefined },
    });
    const capture = captureIo();
    const code = await runMain(
      () => backupMain(["--stack", "dev", "--out", scratch], capture.io, pulumi.run),
      capture.io,
    );
    expect(code).toBe(1);
    expect(capture.err.join("\n")).toMatch(/SSH to stack 'dev' is closed: add your IP to jitsi:adminCidrs/);
  });

  it("backup refuses a malformed sshHostPublicKey output instead of trusting any key", async () => {
    const pulumi = fakePulumi({
      outputs: { ...sampleOutputs(), sshHostPublicKey: "203.0.113.10 ssh-ed25519 AAAA" },
    });
    const capture = captureIo();
    const code = await runMain(
      () => backupMain(["--stack", "dev", "--out", scratch], capture.io, pulumi.run),
      capture.io,
    );
    expect(code).toBe(1);
    expect(capture.err.join("\n")).toMatch(/sshHostPublicKey: .*OpenSSH public key like ssh-ed25519 AAAA/);
  });

  it("restore names the missing outputs of a stack that was never deployed", async () => {
    const pulumi = fakePulumi({ outputs: {} });
    const capture = captureIo();
    const code = await runMain(
      () => restoreMain(["--stack", "dev", "--from", archive], capture.io, pulumi.run),
      capture.io,
    );
    expect(code).toBe(1);
    expect(capture.err.join("\n")).toMatch(
      /lacks outputs this script needs \(meetingUrl: .*sshHost.*pulumi up/,
    );
  });
});

describe("verify flags", () => {
  const cases: [string[], RegExp][] = [
    [[], /^verify: --stack is required .*or --url for an explicit target\.$/],
    [["--stack", "dev", "--bogus"], /Unknown option '--bogus'/],
    [
      ["--url", "http://meet.example.com/", "--app-id", "a"],
      /--url must start with https:\/\/ \(got 'http:\/\/meet.example.com\/'\)/,
    ],
    [["--url", "not a url", "--app-id", "a"], /--url must be a URL like https:\/\/meet.example.com\//],
    [["--url", "https://meet.example.com/"], /--url needs --app-id/],
    [
      ["--url", "https://meet.example.com/", "--app-id", "a"],
      /--url needs the environment variable VERIFY_JWT_SECRET/,
    ],
    [["--stack", "dev", "--app-id", "a"], /--app-id needs --url/],
    [["--stack", "dev", "--guests", "on"], /--guests needs --url/],
    [["--stack", "dev", "--turn-host", "turn.example.com"], /--turn-host needs --url/],
    [
      ["--url", "https://meet.example.com/", "--app-id", "a", "--turn-host", "turns://turn"],
      /--turn-host must be a domain like meet.jitsi/,
    ],
    [["--stack", "dev", "--settle-ms=-5"], /--settle-ms must be a whole number from 0 to 60000/],
    [
      ["--stack", "dev", "--timeout-ms", "10"],
      /--timeout-ms must be a whole number from 1000 to 120000 \(got '10'\)/,
    ],
    [["--stack", "dev", "--xmpp-url", "https://x/"], /--xmpp-url must start with wss: or ws:\/\//],
    [["--stack", "dev", "--muc-domain", "muc..jitsi"], /--muc-domain must be a domain like meet.jitsi/],
    [["--stack", "dev", "--ca", "/nonexistent.pem"], /--ca \/nonexistent.pem cannot be read \(ENOENT\)/],
    [["--stack", "dev", "--no-focus=yes"], /Option '--no-focus' does not take an argument/],
    ...[
      "http://issuer.example.com/",
      "http://10.0.0.5:8787/",
      "http://127.0.0.1.nip.io/",
      "http://localhost.example.com/",
      "http://127.0.0.2/",
      "ftp://issuer.example.com/",
    ].map((issuer): [string[], RegExp] => [
      ["--url", "https://meet.example.com/", "--app-id", "a", "--issuer-url", issuer],
      new RegExp(
        `--issuer-url must be https://, or http:// only on 127\\.0\\.0\\.1, ::1 or localhost, because the API key travels with it \\(got '${issuer.replace(/[.]/g, "\\.")}'\\)`,
      ),
    ]),
  ];
  it.each(cases)("%j", async (argv, message) => {
    const pulumi = fakePulumi({});
    const capture = captureIo();
    const code = await runMain(() => verifyMain(argv, capture.io, pulumi.run), capture.io);
    expect(code).toBe(2);
    expect(capture.err.join("\n")).toMatch(message);
    expect(capture.err).toHaveLength(1);
    expect(pulumi.calls).toEqual([]);
  });

  it.each([
    "http://127.0.0.1:8787/",
    "http://[::1]:8787/",
    "http://localhost:8787/",
    "https://issuer.example.com/",
  ])("accepts --issuer-url %s (https, or http on loopback)", async (issuer) => {
    const capture = captureIo();
    const argv = ["--url", "https://meet.example.com/", "--app-id", "a", "--issuer-url", issuer];
    const code = await runMain(() => verifyMain(argv, capture.io, fakePulumi({}).run), capture.io);
    // The next check complains: the issuer URL itself passed.
    expect(code).toBe(2);
    expect(capture.err).toEqual(["verify: --url needs the environment variable VERIFY_JWT_SECRET."]);
  });

  it("--help lists the checks and exit codes", async () => {
    const capture = captureIo();
    expect(await runMain(() => verifyMain(["--help"], capture.io), capture.io)).toBe(0);
    expect(capture.out.join("\n")).toMatch(
      /Exit codes: 0 every check passed; 1 a check failed; 2 bad usage\./,
    );
  });
});
