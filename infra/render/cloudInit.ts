import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Settings } from "../../config/schema";
import { CONFIG_MOUNT_DIRS, CONTAINER_UID, JITSI_RELEASE, VM_LAYOUT } from "../../config/versions";
import { type EnvEntry, formatEnv } from "./jitsiEnv";
import { cloudConfigText, hostKeyConfig, VM_BASE_FILES } from "./vmBase";

/** A file cloud-init writes on the VM. */
export interface VmFile {
  path: string;
  content: string;
  /** Octal mode, like "0644". */
  permissions: string;
  owner?: string;
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
}

export { USER_DATA_LIMIT_BYTES } from "./vmBase";
/** Files larger than this are written gzip-compressed, to stay under the user-data limit. */
const COMPRESS_ABOVE_BYTES = 4096;

const vmScript = (name: string) => readFileSync(path.join(__dirname, "..", "vm", name), "utf8");
const INSTALL_SCRIPT_PATH = "/usr/local/sbin/jitsi-stack-install";
const BLOCK_METADATA_PATH = "/usr/local/sbin/jitsi-stack-block-metadata";

/** The systemd unit that keeps the compose stack up across reboots. */
export function systemdUnit(composeFiles: readonly string[]): string {
  const files = ["docker-compose.yml", ...composeFiles].map((f) => `-f ${f}`).join(" ");
  return [
    "[Unit]",
    "Description=Jitsi Meet (docker-jitsi-meet compose stack)",
    "Requires=docker.service",
    "After=docker.service network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    // The metadata service hands the user-data, secrets included, to whoever asks: not to containers.
    `ExecStartPre=${BLOCK_METADATA_PATH}`,
    "RemainAfterExit=yes",
    `WorkingDirectory=${VM_LAYOUT.jitsiDir}`,
    `ExecStart=/usr/bin/docker compose ${files} up -d --remove-orphans`,
    `ExecStop=/usr/bin/docker compose ${files} down`,
    "TimeoutStartSec=900",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export function writeFile(file: VmFile): Record<string, string | boolean> {
  const entry: Record<string, string | boolean> = {
    path: file.path,
    permissions: file.permissions,
    owner: file.owner ?? "root:root",
  };
  if (Buffer.byteLength(file.content) > COMPRESS_ABOVE_BYTES) {
    entry.encoding = "gz+b64";
    entry.content = gzipSync(file.content, { level: 9 }).toString("base64");
  } else {
    entry.content = file.content;
  }
  return entry;
}

/** The #cloud-config user-data for the Jitsi VM. Pure: the same input always gives the same text. */
export function renderCloudInit(input: CloudInitInput): string {
  const { settings: s } = input;
  const files: VmFile[] = [
    { path: `${VM_LAYOUT.jitsiDir}/.env`, content: formatEnv(input.env), permissions: "0600" },
    {
      path: VM_LAYOUT.releaseFile,
      content: JSON.stringify({ tag: s.jitsiRelease.tag, commit: s.jitsiRelease.commit }, null, 2) + "\n",
      permissions: "0644",
    },
    { path: INSTALL_SCRIPT_PATH, content: vmScript("install-jitsi.sh"), permissions: "0755" },
    { path: BLOCK_METADATA_PATH, content: vmScript("block-metadata.sh"), permissions: "0755" },
    {
      path: `/etc/systemd/system/${VM_LAYOUT.service}`,
      content: systemdUnit(input.extraComposeFiles ?? []),
      permissions: "0644",
    },
    ...VM_BASE_FILES,
    {
      // Bounded container logs, so a busy bridge cannot fill the disk.
      path: "/etc/docker/daemon.json",
      content:
        JSON.stringify(
          { "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" } },
          null,
          2,
        ) + "\n",
      permissions: "0644",
    },
    ...(input.extraFiles ?? []),
  ];

  const doc = {
    package_update: true,
    package_upgrade: true,
    // Docker and compose v2 from Ubuntu's own archive; chrony because Prosody allows no clock skew.
    packages: ["docker.io", "docker-compose-v2", "git", "chrony", "unattended-upgrades", "ca-certificates"],
    ntp: { enabled: true, ntp_client: "chrony" },
    timezone: s.timezone,
    ...hostKeyConfig(input.sshHostKey),
    write_files: files.map(writeFile),
    runcmd: [
      // cloud-init runs these lines as one shell script: stop at the first failure, so a refused
      // install (say, a tag that does not match its commit) never starts the stack.
      "set -e",
      ["systemctl", "try-reload-or-restart", "ssh"],
      [
        INSTALL_SCRIPT_PATH,
        JITSI_RELEASE.repository,
        s.jitsiRelease.tag,
        s.jitsiRelease.commit,
        VM_LAYOUT.jitsiDir,
        VM_LAYOUT.configDir,
        String(CONTAINER_UID),
        ...CONFIG_MOUNT_DIRS,
      ],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", VM_LAYOUT.service],
    ],
  };
  return cloudConfigText(doc);
}
