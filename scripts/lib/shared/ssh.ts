import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Readable, Writable } from "node:stream";
import { OperationError, UsageError, intFlag } from "./cli";
import { shellCommand } from "./shell";
import type { StackOutputs } from "./stack-outputs";

/** Where the VM's Jitsi directory is reached. From the stack outputs, or given explicitly (tests, break-glass). */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  jitsiDir: string;
  /** Private key file; otherwise the user's ssh-agent and ~/.ssh config decide. */
  identity?: string;
  /** known_hosts file to trust exclusively (strict checking); otherwise new hosts are accepted once. */
  knownHosts?: string;
  /** The VM's host key from the stack outputs ("ssh-ed25519 AAAA..."), pinned when knownHosts is not given. */
  hostPublicKey?: string;
}

/** Flags that replace the stack outputs, shared by backup and restore. */
export const TARGET_FLAGS = {
  host: { type: "string" },
  port: { type: "string" },
  user: { type: "string" },
  identity: { type: "string" },
  "known-hosts": { type: "string" },
  "jitsi-dir": { type: "string" },
} as const;

/**
 * The explicit-target flags' help. `outputsStillRead`: teardown reads the stack's outputs even with
 * --host (it destroys that stack, and checks the host is its VM); backup and restore do not.
 */
export function targetHelp(outputsStillRead = false): string {
  const host = outputsStillRead
    ? "SSH host of the VM (the stack outputs are still read: the host must be the stack's VM)"
    : "SSH host of the VM (with --host, the stack outputs are not read)";
  const keys = outputsStillRead
    ? `(default: the stack's sshHostPublicKey output;
                       with --allow-other-host, a new VM's key is accepted once)`
    : `(default: the stack's sshHostPublicKey output;
                       with --host, a new VM's key is accepted once)`;
  return `Explicit target (instead of the stack outputs, e.g. in tests or when Pulumi is unreachable):
  --host HOST          ${host}
  --port N             SSH port (default 22)
  --user NAME          SSH user (default root)
  --identity FILE      private key file (default: your ssh-agent and ~/.ssh/config)
  --known-hosts FILE   trust only the host keys in FILE ${keys}
  --jitsi-dir DIR      the Jitsi directory on the VM (default /opt/jitsi; the data is DIR/state/config)`;
}

export const TARGET_HELP = targetHelp();

interface TargetFlagValues {
  host?: string;
  port?: string;
  user?: string;
  identity?: string;
  "known-hosts"?: string;
  "jitsi-dir"?: string;
}

/** True when the user replaced the stack outputs with an explicit target. */
export function hasExplicitTarget(flags: TargetFlagValues): boolean {
  return flags.host !== undefined;
}

/** Checks the explicit-target flags and names the one that is wrong. */
export function explicitTarget(script: string, flags: TargetFlagValues): SshTarget {
  const onlyWithHost = (["port", "user", "jitsi-dir"] as const).filter((f) => flags[f] !== undefined);
  if (flags.host === undefined) {
    if (onlyWithHost.length > 0) {
      throw new UsageError(
        `${script}: --${onlyWithHost[0]} needs --host (otherwise the stack outputs decide).`,
      );
    }
    throw new UsageError(`${script}: --host is required here.`);
  }
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(flags.host) || flags.host.startsWith("-")) {
    throw new UsageError(`${script}: --host must be a hostname or IP address (got '${flags.host}').`);
  }
  const jitsiDir = flags["jitsi-dir"] ?? "/opt/jitsi";
  if (!path.posix.isAbsolute(jitsiDir) || jitsiDir === "/" || jitsiDir.split("/").includes("..")) {
    throw new UsageError(`${script}: --jitsi-dir must be an absolute directory below / (got '${jitsiDir}').`);
  }
  if (flags.user !== undefined && !/^[a-z_][a-z0-9_.-]*$/i.test(flags.user)) {
    throw new UsageError(`${script}: --user must be a login name (got '${flags.user}').`);
  }
  return {
    host: flags.host,
    port: intFlag(script, "port", flags.port, 22, 1, 65535),
    user: flags.user ?? "root",
    jitsiDir: path.posix.normalize(jitsiDir).replace(/\/$/, ""),
    identity: readableFile(script, "identity", flags.identity),
    knownHosts: readableFile(script, "known-hosts", flags["known-hosts"]),
  };
}

function readableFile(script: string, flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    readFileSync(file);
  } catch (error) {
    throw new UsageError(
      `${script}: --${flag} ${file} cannot be read (${(error as NodeJS.ErrnoException).code}).`,
    );
  }
  return path.resolve(file);
}

/** The target from the stack outputs; SSH is closed when the stack exports no sshCommand. */
export function targetFromOutputs(stack: string, outputs: StackOutputs, flags: TargetFlagValues): SshTarget {
  if (!outputs.sshCommand) {
    throw new OperationError(
      `SSH to stack '${stack}' is closed: add your IP to jitsi:adminCidrs (pulumi config set --path 'jitsi:adminCidrs[0]' <your-ip>/32 --stack ${stack}), run pulumi up, and try again.`,
    );
  }
  return stackVmTarget(outputs, outputs.sshHost, outputs.sshHostPublicKey, flags);
}

/** A recorder from the stack outputs: same user and layout as the meeting VM, its own pinned host key. */
export function recorderTarget(
  outputs: StackOutputs,
  recorder: NonNullable<StackOutputs["recorders"]>[number],
  flags: Pick<TargetFlagValues, "identity" | "known-hosts"> = {},
): SshTarget {
  return stackVmTarget(outputs, recorder.ipv4, recorder.sshHostPublicKey, flags);
}

/**
 * Any VM of the stack (the meeting VM, a bridge, a recorder): the same user and layout on each, its host
 * key pinned from the outputs unless --known-hosts names a file.
 */
export function stackVmTarget(
  outputs: StackOutputs,
  host: string,
  hostPublicKey: string | undefined,
  flags: Pick<TargetFlagValues, "identity" | "known-hosts"> = {},
): SshTarget {
  return {
    host,
    port: 22,
    user: outputs.sshUser,
    jitsiDir: outputs.jitsiDir,
    identity: flags.identity === undefined ? undefined : path.resolve(flags.identity),
    knownHosts: flags["known-hosts"] === undefined ? undefined : path.resolve(flags["known-hosts"]),
    hostPublicKey: flags["known-hosts"] === undefined ? hostPublicKey : undefined,
  };
}

/** The known_hosts line that pins `key` for the host as ssh looks it up ("[host]:port" off port 22). */
export function knownHostsLine(target: Pick<SshTarget, "host" | "port">, key: string): string {
  const name = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
  return `${name} ${key}\n`;
}

/** How the host key is checked, in words for messages. */
function hostKeySource(target: SshTarget): string | undefined {
  if (target.knownHosts) return `--known-hosts ${target.knownHosts}`;
  if (target.hostPublicKey) return "the stack's sshHostPublicKey output";
  return undefined;
}

/** The progress line for a host key nobody pinned; undefined when one is pinned. */
export function hostKeyNotice(target: SshTarget): string | undefined {
  if (hostKeySource(target)) return undefined;
  return "The VM's SSH host key is trusted on first use (accept-new): pass --known-hosts FILE, or deploy a stack that exports sshHostPublicKey, to pin it.";
}

/**
 * Why ssh could not connect, for the failure message. A changed or unknown host key under strict checking is
 * named as a host-key mismatch, since it can mean someone is in the middle.
 */
export function sshFailure(target: SshTarget, stderrTail: string[]): string {
  const said = stderrTail.join("\n");
  const source = hostKeySource(target);
  if (
    source &&
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .*host key is known/.test(said)
  ) {
    return `host-key mismatch: the SSH host key of ${target.host} is not the one pinned by ${source}; someone may be intercepting the connection, or the VM was rebuilt outside Pulumi (run pulumi refresh and pulumi up, then try again)`;
  }
  return stderrTail.filter((line) => line.trim()).pop() ?? "no message";
}

/** True when `host` names the stack's VM: its sshHost or ipv4 output (case and IPv6 brackets aside). */
export function isStackHost(outputs: Pick<StackOutputs, "sshHost" | "ipv4">, host: string): boolean {
  const plain = (h: string) => h.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return [outputs.sshHost, outputs.ipv4].some((h) => h !== undefined && plain(h) === plain(host));
}

/** Arguments for OpenSSH's client: batch mode (never prompts, safe in CI), keep-alives, quiet logs. */
export function sshArgs(target: SshTarget, remoteCommand: string): string[] {
  const args = ["-p", String(target.port), "-l", target.user];
  args.push("-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR");
  args.push("-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4");
  if (target.identity) args.push("-i", target.identity, "-o", "IdentitiesOnly=yes");
  if (target.knownHosts) {
    // Only these keys count: not ~/.ssh/known_hosts, and not the system-wide file either.
    args.push("-o", `UserKnownHostsFile=${target.knownHosts}`, "-o", "StrictHostKeyChecking=yes");
    args.push("-o", "GlobalKnownHostsFile=/dev/null");
  } else {
    args.push("-o", "StrictHostKeyChecking=accept-new");
  }
  args.push("--", target.host, remoteCommand);
  return args;
}

/** Reads one of the shell scripts under scripts/remote/. */
export function remoteScript(name: string): string {
  return readFileSync(path.join(__dirname, "..", "..", "remote", name), "utf8");
}

export interface RemoteRun {
  /** Piped to the remote script's stdin (the archive, for restore). */
  stdin?: Readable;
  /** Receives the remote script's stdout (the archive, for backup). */
  stdout?: Writable;
  /** Called with the size of each chunk of stdout (for progress). */
  onStdoutBytes?: (count: number) => void;
  /** Each line the remote script writes to stderr (its progress and reasons). */
  onStderrLine?: (line: string) => void;
  /** Registers clean-up for Ctrl-C / SIGTERM (the CLIs pass onInterrupt), for the temporary known_hosts. */
  onInterrupt?: (cleanup: () => void) => () => void;
}

export interface RemoteResult {
  exitCode: number;
  /** The last lines of stderr, to explain a failure. */
  stderrTail: string[];
}

/**
 * Runs a scripts/remote/*.sh file on the VM as `sh -c SCRIPT NAME ARGS...`, every word quoted by
 * shellCommand, so no argument is ever parsed by the remote shell.
 */
export function runRemoteScript(
  target: SshTarget,
  scriptName: string,
  args: string[],
  io: RemoteRun = {},
): { done: Promise<RemoteResult>; kill: () => void } {
  const command = shellCommand("sh", "-c", remoteScript(scriptName), scriptName, ...args);
  const pinned = pinHostKey(target, io.onInterrupt);
  const child = spawn("ssh", sshArgs(pinned.target, command), { stdio: ["pipe", "pipe", "pipe"] });
  const tail: string[] = [];
  let partial = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n/);
    partial = lines.pop() ?? "";
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      io.onStderrLine?.(line);
    }
  });
  if (io.stdin) {
    io.stdin.pipe(child.stdin);
    // The remote side may stop reading early (a refusal); that is reported through its exit code.
    child.stdin.on("error", () => undefined);
  } else {
    child.stdin.end();
  }
  if (io.onStdoutBytes) child.stdout.on("data", (chunk: Buffer) => io.onStdoutBytes?.(chunk.length));
  if (io.stdout) child.stdout.pipe(io.stdout);
  else child.stdout.resume();
  const done = new Promise<RemoteResult>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) => {
      pinned.remove();
      reject(
        new OperationError(
          error.code === "ENOENT"
            ? "The OpenSSH client (ssh) was not found on PATH; install openssh-client."
            : `Could not start ssh: ${error.message}`,
        ),
      );
    });
    child.on("close", (code, signal) => {
      pinned.remove();
      if (partial.trim()) tail.push(partial.replace(/\r$/, ""));
      resolve({ exitCode: code ?? (signal ? 255 : 1), stderrTail: tail });
    });
  });
  return { done, kill: () => child.kill("SIGTERM") };
}

/** Runs a scripts/remote/*.sh file like runRemoteScript, and gives back its whole stdout as text. */
export async function runRemoteScriptText(
  target: SshTarget,
  scriptName: string,
  args: string[],
): Promise<RemoteResult & { stdout: string }> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const result = await runRemoteScript(target, scriptName, args, { stdout }).done;
  // Decoded once, whole: a multi-byte character split across chunks stays intact.
  return { ...result, stdout: Buffer.concat(chunks).toString("utf8") };
}

/**
 * With a host key from the stack outputs (and no --known-hosts), writes a one-line known_hosts file (0600, in
 * a private temporary folder) that ssh then trusts exclusively; `remove` deletes it, as does Ctrl-C.
 */
function pinHostKey(
  target: SshTarget,
  onInterrupt?: (cleanup: () => void) => () => void,
): { target: SshTarget; remove: () => void } {
  if (target.knownHosts || !target.hostPublicKey) return { target, remove: () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-known-hosts-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const unregister = onInterrupt?.(remove) ?? (() => undefined);
  try {
    const file = path.join(dir, "known_hosts");
    writeFileSync(file, knownHostsLine(target, target.hostPublicKey), { mode: 0o600, flag: "wx" });
    return {
      target: { ...target, knownHosts: file },
      remove: () => {
        remove();
        unregister();
      },
    };
  } catch (error) {
    remove();
    unregister();
    throw error;
  }
}

/** ssh itself exits 255 when it cannot connect or the connection drops. */
export const SSH_CONNECTION_FAILED = 255;

export function describeTarget(target: SshTarget): string {
  return `${target.user}@${target.host}${target.port === 22 ? "" : `:${target.port}`}:${target.jitsiDir}`;
}

/**
 * The target the flags name, or undefined when they name none (the stack outputs decide). Any of
 * --host, --port, --user or --jitsi-dir asks for an explicit target, which must then be complete.
 */
export function explicitTargetFromFlags(script: string, flags: TargetFlagValues): SshTarget | undefined {
  const named =
    hasExplicitTarget(flags) || flags.port !== undefined || flags.user !== undefined || !!flags["jitsi-dir"];
  return named ? explicitTarget(script, flags) : undefined;
}

/** The explicit target when --host is given, otherwise the one the stack outputs describe. */
export async function resolveTarget(
  script: string,
  stack: string,
  flags: TargetFlagValues,
  readOutputs: (stack: string) => Promise<StackOutputs>,
): Promise<{ target: SshTarget; outputs?: StackOutputs }> {
  const explicit = explicitTargetFromFlags(script, flags);
  if (explicit) return { target: explicit };
  explicitTarget(script, { ...flags, host: "placeholder" }); // checks --identity and --known-hosts early
  const outputs = await readOutputs(stack);
  return { target: targetFromOutputs(stack, outputs, flags), outputs };
}
