import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Daemon, freePort, startDaemon } from "./daemon";

/** A real OpenSSH server (Debian's openssh-server) on 127.0.0.1, with throwaway host and user keys. */
export interface SshdFixture {
  host: string;
  port: number;
  user: string;
  /** Private key that the server accepts. */
  identity: string;
  /** known_hosts file holding the server's throwaway host key. */
  knownHosts: string;
  /** The server's host public key in OpenSSH form, "ssh-ed25519 AAAA..." (as the sshHostPublicKey output). */
  hostPublicKey: string;
  /** A known_hosts file for the same host key reached on another port (through a proxy). */
  knownHostsFor(port: number): string;
  /** Scratch folder the fixture owns and deletes on stop(). */
  dir: string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<SshdFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-sshd-"));
  const hostKey = path.join(dir, "host_ed25519");
  const identity = path.join(dir, "user_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "throwaway-host", "-f", hostKey]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "throwaway-user", "-f", identity]);
  const authorizedKeys = path.join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${identity}.pub`), { mode: 0o600 });
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const user = os.userInfo().username;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const config = path.join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        `AllowUsers ${user}`,
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    let daemon: Daemon;
    try {
      daemon = await startDaemon("sshd", "/usr/sbin/sshd", ["-D", "-e", "-f", config], port);
    } catch (error) {
      lastError = (error as Error).message;
      continue;
    }
    const hostPub = readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    const knownHosts = path.join(dir, "known_hosts");
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
    return {
      host: "127.0.0.1",
      port,
      user,
      identity,
      knownHosts,
      hostPublicKey: hostPub,
      dir,
      knownHostsFor(otherPort: number) {
        const file = path.join(dir, `known_hosts_${otherPort}`);
        writeFileSync(file, `[127.0.0.1]:${otherPort} ${hostPub}\n`);
        return file;
      },
      async stop() {
        await daemon.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start sshd: ${lastError}`);
}

/** The fixture as an SSH target whose host key is pinned from "state", as the scripts reach a VM. */
export function pinnedTarget(sshd: SshdFixture, jitsiDir = "/opt/jitsi") {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    jitsiDir,
    identity: sshd.identity,
    hostPublicKey: sshd.hostPublicKey,
  };
}
