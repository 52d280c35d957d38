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

/**
 * Two settings that cut what each SSH command costs on this machine (the tests run dozens), without touching
 * what the scripts send or what runs on the VM:
 * - HOME is an empty folder of the fixture's. sshd runs every command through the user's login shell, and
 *   Debian's bash sources ~/.bashrc for commands run by sshd; on a developer's machine or CI that file can do
 *   anything (here root's runs `pyenv init`: ~100 processes, ~0.15 s of CPU per command). A VM's root has
 *   Ubuntu's .bashrc, which returns at once for shells that are not interactive, as an absent one does. The
 *   session still runs as the same user in the same working directory; the remote scripts never read HOME.
 * - The key exchange is curve25519 only. OpenSSH 9.x clients prefer the post-quantum sntrup761 hybrid, which
 *   costs the client ~0.09 s of CPU per connection; which key exchange the two ends agree on is not what any
 *   test proves (host keys, user keys and the scripts' client options stay as they are).
 */
function sessionCostOptions(home: string): string[] {
  return [`SetEnv HOME=${home}`, "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org"];
}

export async function startSshd(): Promise<SshdFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-sshd-"));
  const hostKey = path.join(dir, "host_ed25519");
  const identity = path.join(dir, "user_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "throwaway-host", "-f", hostKey]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "throwaway-user", "-f", identity]);
  const authorizedKeys = path.join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${identity}.pub`), { mode: 0o600 });
  // The login's home, empty: see sessionCostOptions.
  const home = path.join(dir, "home");
  mkdirSync(home);
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
        ...sessionCostOptions(home),
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
