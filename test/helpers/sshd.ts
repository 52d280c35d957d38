import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
    const child: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await Promise.race([
        waitForPort(port),
        exited.then(() => {
          throw new Error(`sshd exited: ${stderr.trim()}`);
        }),
      ]);
    } catch (error) {
      lastError = (error as Error).message;
      child.kill("SIGKILL");
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
        child.kill("SIGTERM");
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start sshd: ${lastError}`);
}
