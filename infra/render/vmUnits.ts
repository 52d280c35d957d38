import { CONFIG_MOUNT_DIRS, CONTAINER_UID, JITSI_RELEASE, VM_LAYOUT } from "../../config/versions";

/** Where cloud-init puts the VM scripts (infra/vm/*.sh). */
export const VM_SCRIPTS = {
  install: { path: "/usr/local/sbin/jitsi-stack-install", source: "install-jitsi.sh" },
  mountState: { path: "/usr/local/sbin/jitsi-stack-mount-state", source: "mount-state.sh" },
  blockMetadata: { path: "/usr/local/sbin/jitsi-stack-block-metadata", source: "block-metadata.sh" },
  renewCert: { path: "/usr/local/sbin/jitsi-stack-renew-cert", source: "renew-cert.sh" },
} as const;

/** Written only on a VM that joins the private network (see `VmUnitsInput.privateAddress`). */
export const WAIT_ADDRESS_SCRIPT = {
  path: "/usr/local/sbin/jitsi-stack-wait-address",
  source: "wait-address.sh",
} as const;
/** How long one start of the unit waits for the private address before failing and retrying. */
const WAIT_ADDRESS_SECONDS = 120;

/** Packages the stack cannot start without; cloud-init installs them, and the install step again if missing. */
export const REQUIRED_PACKAGES = ["docker.io", "docker-compose-v2", "git"] as const;

/** Exit code of the VM scripts for a refusal that retrying cannot cure (see infra/vm/*.sh). */
export const REFUSED_EXIT_CODE = 3;

export const RENEWAL = {
  service: "jitsi-stack-renew-cert.service",
  timer: "jitsi-stack-renew-cert.timer",
  /** Renew when fewer days remain; acme.sh, inside the web container, treats a certificate as due from day 59 of 90. */
  days: 30,
  /** How long to wait for the web container to bring a new certificate. */
  waitSeconds: 600,
} as const;

export interface VmUnitsInput {
  domain: string;
  /** The docker-jitsi-meet tag to install and the commit it must resolve to. */
  release: { tag: string; commit: string };
  /** The state volume's block device, like /dev/disk/by-id/scsi-0HC_Volume_123; a VM without one mounts nothing. */
  stateDevice?: string;
  /** Compose files layered over docker-compose.yml, relative to the Jitsi directory. */
  extraComposeFiles: readonly string[];
  /** The compose services this VM runs, without the ones they depend on (a bridge: jvb); all when absent. */
  services?: readonly string[];
  /** The directories under CONFIG its containers mount; all of the release's when absent. */
  configDirs?: readonly string[];
  /** The VM's address on the private network: the stack starts only once it is up (a port is published on it). */
  privateAddress?: string;
  /** Commands run after the install step, before compose starts: each a list of arguments. */
  extraStartPre?: readonly (readonly string[])[];
}

/** One argument on an Exec line; systemd would expand `$`, `%` and split on spaces, so none may appear. */
export function arg(value: string): string {
  if (!/^[A-Za-z0-9@._:/,=+-]+$/.test(value)) {
    throw new Error(`'${value}' cannot be a systemd command argument without quoting; refusing to write it`);
  }
  return value;
}
/** An Exec line's command: each argument checked by `arg`. */
export const command = (...args: string[]) => args.map(arg).join(" ");

/** The host path of the certificate the web container serves (its /storage is CONFIG/storage/web). */
export const certificatePath = (domain: string) =>
  `${VM_LAYOUT.configDir}/storage/web/acme-certs/${domain}/fullchain.pem`;

/** `docker compose` over the release's docker-compose.yml and the VM's extra compose files, as arguments. */
export function composeArgs(extraComposeFiles: readonly string[], ...args: string[]): string[] {
  const files = ["docker-compose.yml", ...extraComposeFiles].flatMap((f) => ["-f", f]);
  return ["/usr/bin/docker", "compose", ...files, ...args];
}

const compose = (extraComposeFiles: readonly string[], ...args: string[]) =>
  command(...composeArgs(extraComposeFiles, ...args));

/** A oneshot task on the running stack: it runs only while jitsi-meet.service is up, in the Jitsi directory. */
export function stackTaskService(description: string, execStart: string): string {
  return [
    "[Unit]",
    `Description=${description}`,
    // Only while the stack runs: a task that restarts or runs a container would otherwise start the stack.
    `Requisite=${VM_LAYOUT.service}`,
    `After=${VM_LAYOUT.service}`,
    "",
    "[Service]",
    "Type=oneshot",
    `WorkingDirectory=${VM_LAYOUT.jitsiDir}`,
    `ExecStart=${execStart}`,
    "",
  ].join("\n");
}

/** A timer that starts its service (the unit of the same name) on `schedule`, enabled with timers.target. */
export function timerUnit(description: string, schedule: readonly string[]): string {
  return [
    "[Unit]",
    `Description=${description}`,
    "",
    "[Timer]",
    ...schedule,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

/**
 * jitsi-meet.service: mounts the state volume, installs (or repairs) the release, fences off the
 * metadata service, then starts the compose stack. Every step is safe to repeat, so the unit retries
 * until the stack is up; only a refusal (exit 3) stops the retries, since retrying cannot cure it.
 */
export function jitsiMeetUnit(input: VmUnitsInput): string {
  const configDirs = input.configDirs ?? CONFIG_MOUNT_DIRS;
  const only = input.services ? ["--no-deps", ...input.services] : [];
  return [
    "[Unit]",
    "Description=Jitsi Meet (docker-jitsi-meet compose stack)",
    // Wants, not Requires: if Docker is missing, the install step below installs it and the unit retries.
    "Wants=docker.service network-online.target",
    "After=docker.service network-online.target",
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `WorkingDirectory=${VM_LAYOUT.jitsiDir}`,
    `Environment="REQUIRED_PACKAGES=${REQUIRED_PACKAGES.map(arg).join(" ")}"`,
    // The managed files are the web container's (nginx-custom): only a VM that runs it gets them.
    ...(configDirs.includes("web/nginx-custom")
      ? [`Environment=MANAGED_CONFIG_DIR=${arg(VM_LAYOUT.managedConfigDir)}`]
      : []),
    ...(input.stateDevice
      ? [`ExecStartPre=${command(VM_SCRIPTS.mountState.path, input.stateDevice, VM_LAYOUT.stateDir)}`]
      : []),
    `ExecStartPre=${command(
      VM_SCRIPTS.install.path,
      JITSI_RELEASE.repository,
      input.release.tag,
      input.release.commit,
      VM_LAYOUT.jitsiDir,
      VM_LAYOUT.configDir,
      String(CONTAINER_UID),
      ...configDirs,
    )}`,
    // The metadata service hands the user-data, secrets included, to whoever asks: not to containers.
    `ExecStartPre=${VM_SCRIPTS.blockMetadata.path}`,
    ...(input.privateAddress
      ? [
          `ExecStartPre=${command(WAIT_ADDRESS_SCRIPT.path, input.privateAddress, String(WAIT_ADDRESS_SECONDS))}`,
        ]
      : []),
    ...(input.extraStartPre ?? []).map((args) => `ExecStartPre=${command(...args)}`),
    `ExecStart=${compose(input.extraComposeFiles, "up", "-d", "--remove-orphans", ...only)}`,
    `ExecStop=${compose(input.extraComposeFiles, "down")}`,
    "Restart=on-failure",
    "RestartSec=30",
    `RestartPreventExitStatus=${REFUSED_EXIT_CODE}`,
    "TimeoutStartSec=1800",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The daily check that renews the certificate when due (the release's own renewal never succeeds). */
export function renewalUnits(input: VmUnitsInput): { service: string; timer: string } {
  const service = stackTaskService(
    "Renew the meeting site's Let's Encrypt certificate when it is due",
    `${command(
      VM_SCRIPTS.renewCert.path,
      certificatePath(input.domain),
      String(RENEWAL.days),
      String(RENEWAL.waitSeconds),
    )} ${compose(input.extraComposeFiles, "restart", "web")}`,
  );
  const timer = timerUnit("Daily check of the meeting site's certificate", [
    // Night time in the VM's time zone; the random delay spreads many stacks over an hour.
    "OnCalendar=*-*-* 03:30:00",
    "RandomizedDelaySec=1h",
    "Persistent=true",
  ]);
  return { service, timer };
}
