import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SshTarget } from "../../scripts/lib/shared/ssh";
import { DATA, makeJitsiTree } from "./jitsi-tree";
import type { SshdFixture } from "./sshd";

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
}

export function makeFakeVm(sshd: SshdFixture): FakeVm {
  const root = mkdtempSync(path.join(os.tmpdir(), "jitsi-vm-"));
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
  return {
    targetFlags: [
      "--host",
      "127.0.0.1",
      "--port",
      String(sshd.port),
      "--user",
      sshd.user,
      "--identity",
      sshd.identity,
      "--known-hosts",
      sshd.knownHosts,
      "--jitsi-dir",
      jitsiDir,
    ],
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
