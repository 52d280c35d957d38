import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { SshTarget } from "../../scripts/lib/shared/ssh";
import { DATA, makeJitsiTree } from "./jitsi-tree";
import { scratchDir } from "./scratch";
import { type SshdFixture, startSshd } from "./sshd";

/**
 * The "VM" side of a test: a folder reached through the real sshd, holding opt/jitsi (the stand-in Jitsi
 * directory, with the state volume at opt/jitsi/state and the data at opt/jitsi/state/config) and
 * bin/jitsi-control, a stand-in for `systemctl stop|start jitsi-meet.service` that records
 * each call and fails on purpose when told to.
 */
export interface FakeVm {
  root: string;
  /** The parent of jitsiDir: nothing outside it may change. */
  opt: string;
  jitsiDir: string;
  /** The state volume's mount point: a restore stages and keeps the previous data here. */
  stateDir: string;
  /** The data directory (CONFIG): all a restore replaces. */
  configDir: string;
  control: string;
  target: SshTarget;
  calls(): string[];
  /** The next `control ACTION` exits 1 (the next `times` calls of that action; once by default). */
  failNext(action: "stop" | "start", times?: number): void;
  remove(): void;
  /** The flags that point a script at this stand-in VM instead of a stack's outputs. */
  targetFlags: string[];
  /** The same flags for reaching the sshd through a proxy on `port` (with a known_hosts file for that port). */
  targetFlagsThrough(port: number): string[];
}

export function makeFakeVm(sshd: SshdFixture): FakeVm {
  const root = scratchDir("jitsi-vm-");
  const opt = path.join(root, "opt");
  const jitsiDir = path.join(opt, "jitsi");
  makeJitsiTree(jitsiDir);
  const log = path.join(root, "control.log");
  const control = path.join(root, "bin", "jitsi-control");
  mkdirSync(path.dirname(control));
  writeFileSync(
    control,
    [
      "#!/bin/sh",
      `echo "$1" >> '${log}'`,
      `flag='${root}/fail-'"$1"`,
      'if [ -e "$flag" ]; then',
      '  left=$(cat "$flag")',
      '  if [ "${left:-1}" -le 1 ]; then rm -f "$flag"; else echo $((left - 1)) >"$flag"; fi',
      '  echo "stand-in: $1 failed on purpose" >&2',
      "  exit 1",
      "fi",
      "",
    ].join("\n"),
  );
  chmodSync(control, 0o755);
  const targetFlagsThrough = (port: number) => [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--user",
    sshd.user,
    "--identity",
    sshd.identity,
    "--known-hosts",
    port === sshd.port ? sshd.knownHosts : sshd.knownHostsFor(port),
    "--jitsi-dir",
    jitsiDir,
  ];
  return {
    targetFlags: targetFlagsThrough(sshd.port),
    targetFlagsThrough,
    root,
    opt,
    jitsiDir,
    stateDir: path.join(jitsiDir, "state"),
    configDir: path.join(jitsiDir, DATA),
    control,
    target: {
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identity: sshd.identity,
      knownHosts: sshd.knownHosts,
      jitsiDir,
    },
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
    failNext: (action, times = 1) => writeFileSync(path.join(root, `fail-${action}`), String(times)),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** What useFakeVmOverSsh gives the tests of a file: read it in hooks and tests, not when the file loads. */
export interface SshVmFixture {
  /** The file's sshd. */
  readonly sshd: SshdFixture;
  /** This test's fake VM, reached through the sshd. */
  readonly vm: FakeVm;
  /** This test's backups folder on the operator's side, empty at the start. */
  readonly backups: string;
}

/**
 * Registers the hooks of a file whose tests reach a fake VM over SSH: one real sshd for the whole file, and a
 * fresh fake VM and empty backups folder for each test, removed after it. Sharing the sshd is safe: it keeps nothing from one
 * connection to the next, the tests of a file run one at a time, and each test's VM is a folder of its own.
 */
export function useFakeVmOverSsh(): SshVmFixture {
  let sshd: SshdFixture | undefined;
  let vm: FakeVm | undefined;
  let backups: string | undefined;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(() => {
    vm = makeFakeVm(ready(sshd, "sshd"));
    backups = scratchDir("jitsi-backups-");
  });
  afterEach(() => {
    vm?.remove();
    if (backups) rmSync(backups, { recursive: true, force: true });
    vm = backups = undefined;
  });
  return {
    get sshd() {
      return ready(sshd, "sshd");
    },
    get vm() {
      return ready(vm, "vm");
    },
    get backups() {
      return ready(backups, "backups");
    },
  };
}

function ready<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`useFakeVmOverSsh: ${name} is there only inside hooks and tests`);
  return value;
}

/**
 * Waits (15 s at the most) until a backup into `dir` has more than 100 kB in its hidden .partial file, so a
 * test can interrupt the download while it is under way (throttled, of a VM made with growBigFile).
 */
export async function partialDownloadUnderWay(dir: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const partial = existsSync(dir) && readdirSync(dir).find((n) => n.endsWith(".partial"));
    if (partial && statSync(path.join(dir, partial)).size > 100_000) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
