import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "fflate";
import type { Settings } from "../../config/schema";
import { VM_LAYOUT } from "../../config/versions";
import { type EnvEntry, formatEnv } from "./jitsiEnv";
import {
  jitsiMeetUnit,
  RENEWAL,
  renewalUnits,
  REQUIRED_PACKAGES,
  VM_SCRIPTS,
  type VmUnitsInput,
  WAIT_ADDRESS_SCRIPT,
} from "./vmUnits";
import { cloudConfigText, sshConfig, VM_BASE_FILES } from "./vmBase";

/** A file cloud-init writes on the VM. */
export interface VmFile {
  path: string;
  content: string;
  /** Octal mode, like "0644". */
  permissions: string;
  owner?: string;
  /** Write it compressed whatever its size (the VM scripts: readable in the repository, costly in user-data). */
  compress?: boolean;
}

export interface CloudInitInput {
  settings: Settings;
  env: readonly EnvEntry[];
  /** More files to write, such as the token issuer's compose override in `host` mode. */
  extraFiles?: readonly VmFile[];
  /** Compose files layered over docker-compose.yml, relative to the Jitsi directory. */
  extraComposeFiles?: readonly string[];
  /** The SSH host key (OpenSSH format) the VM must present, so clients can pin it. */
  sshHostKey: { privateKey: string; publicKey: string };
  /** The state volume's block device, like /dev/disk/by-id/scsi-0HC_Volume_123; absent on a VM without one. */
  stateDevice?: string;
  /** The compose services the VM runs (a bridge: jvb), with the CONFIG directories they mount; all when absent. */
  services?: { names: readonly string[]; configDirs: readonly string[] };
  /** The VM's address on the stack's private network, when it joins one; the stack waits for it. */
  privateAddress?: string;
  /** Commands jitsi-meet.service runs after the install step, before compose starts: each a list of arguments. */
  extraStartPre?: VmUnitsInput["extraStartPre"];
  /** More systemd units (file name to text) for /etc/systemd/system, and those of them to enable and start. */
  extraUnits?: { files: Readonly<Record<string, string>>; start: readonly string[] };
}

export { USER_DATA_LIMIT_BYTES } from "./vmBase";
/** Files larger than this are written gzip-compressed, to stay under the user-data limit. */
const COMPRESS_ABOVE_BYTES = 4096;

/** A VM script (infra/vm/) exactly as the repository holds it. */
export const vmScriptSource = (name: string) => readFileSync(path.join(__dirname, "..", "vm", name), "utf8");

/**
 * A VM script as the VM gets it: without its whole-line comments, which are half its size and stay in
 * the repository's copy (infra/vm/). A here-document could hold a line that looks like a comment, so a
 * script with one is refused rather than altered.
 */
export function vmScript(name: string): string {
  const text = vmScriptSource(name);
  if (text.includes("<<"))
    throw new Error(`infra/vm/${name} has a here-document; its comments cannot be dropped safely`);
  const [shebang, ...rest] = text.split("\n");
  // shellcheck directives stay: they are part of what makes the script pass the linter.
  const code = rest.filter((line) => !/^\s*#/.test(line) || /^\s*# shellcheck /.test(line));
  return [shebang, `# jitsi-stack infra/vm/${name}; the repository's copy is documented.`, ...code].join(
    "\n",
  );
}

/**
 * Gzip whose bytes depend only on the input. Node's zlib writes the build's OS into the header (3 on
 * Linux, 19 on macOS) and its deflate output may change with the zlib it was built with; a different
 * user-data replaces the server. fflate is plain JavaScript, pinned by the lockfile: mtime 0, OS 3 (Unix).
 */
export function deterministicGzip(content: string): Buffer {
  return Buffer.from(gzipSync(Buffer.from(content, "utf8"), { level: 9, mtime: 0 }));
}

export function writeFile(file: VmFile): Record<string, string | boolean> {
  const entry: Record<string, string | boolean> = {
    path: file.path,
    permissions: file.permissions,
    // cloud-init's default owner is root:root; naming it on every file costs user-data for nothing.
    ...(file.owner ? { owner: file.owner } : {}),
  };
  const packed =
    file.compress || Buffer.byteLength(file.content) > COMPRESS_ABOVE_BYTES
      ? deterministicGzip(file.content).toString("base64")
      : undefined;
  // A short file can come out longer in gzip and base64: then it goes as it is.
  if (packed !== undefined && packed.length < Buffer.byteLength(file.content)) {
    entry.encoding = "gz+b64";
    entry.content = packed;
  } else {
    entry.content = file.content;
  }
  return entry;
}

/** Bounded container logs, so a busy bridge or recorder cannot fill the disk. */
const DOCKER_DAEMON_FILE: VmFile = {
  path: "/etc/docker/daemon.json",
  content:
    JSON.stringify(
      { "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" } },
      null,
      2,
    ) + "\n",
  permissions: "0644",
};

/** The #cloud-config user-data of a VM that runs the compose stack or part of it (meeting VM, bridge, recorder). Pure: the same input always gives the same text. */
export function renderCloudInit(input: CloudInitInput): string {
  const { settings: s } = input;
  const unitInput: VmUnitsInput = {
    domain: s.domain,
    release: s.jitsiRelease,
    extraComposeFiles: input.extraComposeFiles ?? [],
    ...(input.stateDevice ? { stateDevice: input.stateDevice } : {}),
    ...(input.privateAddress ? { privateAddress: input.privateAddress } : {}),
    ...(input.services ? { services: input.services.names, configDirs: input.services.configDirs } : {}),
    ...(input.extraStartPre ? { extraStartPre: input.extraStartPre } : {}),
  };
  const extraUnits = input.extraUnits ?? { files: {}, start: [] };
  for (const name of extraUnits.start) {
    if (!(name in extraUnits.files))
      throw new Error(`extra unit ${name} is to be started but is not written`);
  }
  // The certificate is the web container's: a VM without it renews nothing.
  const servesWeb = !input.services || input.services.names.includes("web");
  const scripts = [
    VM_SCRIPTS.install,
    ...(input.stateDevice ? [VM_SCRIPTS.mountState] : []),
    VM_SCRIPTS.blockMetadata,
    ...(servesWeb ? [VM_SCRIPTS.renewCert] : []),
    ...(input.privateAddress ? [WAIT_ADDRESS_SCRIPT] : []),
  ];
  const renewal = renewalUnits(unitInput);
  const files: VmFile[] = [
    {
      path: `${VM_LAYOUT.jitsiDir}/.env`,
      content: formatEnv(input.env),
      permissions: "0600",
    },
    {
      path: VM_LAYOUT.releaseFile,
      content: JSON.stringify({ tag: s.jitsiRelease.tag, commit: s.jitsiRelease.commit }, null, 2) + "\n",
      permissions: "0644",
    },
    ...scripts.map((script) => ({
      path: script.path,
      content: vmScript(script.source),
      permissions: "0755",
      compress: true,
    })),
    // The units are rendered here and tested as text (test/infra/render/vmUnits.test.ts): compressed is fine.
    {
      path: `/etc/systemd/system/${VM_LAYOUT.service}`,
      content: jitsiMeetUnit(unitInput),
      permissions: "0644",
      compress: true,
    },
    ...(servesWeb
      ? [
          {
            path: `/etc/systemd/system/${RENEWAL.service}`,
            content: renewal.service,
            permissions: "0644",
            compress: true,
          },
          { path: `/etc/systemd/system/${RENEWAL.timer}`, content: renewal.timer, permissions: "0644" },
        ]
      : []),
    ...Object.entries(extraUnits.files).map(([name, content]) => ({
      path: `/etc/systemd/system/${name}`,
      content,
      permissions: "0644",
    })),
    ...VM_BASE_FILES,
    DOCKER_DAEMON_FILE,
    ...(input.extraFiles ?? []),
  ];

  // The unit mounts the volume, installs the release and starts the stack, and retries on its own until
  // that works (a volume attached late, a failed fetch or image pull).
  const units = [VM_LAYOUT.service, ...(servesWeb ? [RENEWAL.timer] : []), ...extraUnits.start];
  return composeVmCloudConfig(s, input.sshHostKey, files, units);
}

/**
 * The #cloud-config of a VM that runs part of the compose stack (the meeting VM, a bridge, a recorder):
 * Docker, the clock, SSH, its files, and the units it starts without waiting for them (`--no-block`).
 */
function composeVmCloudConfig(
  s: Settings,
  sshHostKey: { privateKey: string; publicKey: string },
  files: readonly VmFile[],
  units: readonly string[],
): string {
  return cloudConfigText({
    package_update: true,
    package_upgrade: true,
    // Docker and compose v2 from Ubuntu's own archive; chrony because Prosody allows no clock skew.
    packages: [...REQUIRED_PACKAGES, "chrony", "unattended-upgrades", "ca-certificates"],
    ntp: { enabled: true, ntp_client: "chrony" },
    timezone: s.timezone,
    ...sshConfig(s.sshPublicKeys, sshHostKey),
    write_files: files.map(writeFile),
    runcmd: [
      ["systemctl", "try-reload-or-restart", "ssh"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", ...units],
      ["systemctl", "start", "--no-block", ...units],
    ],
  });
}
