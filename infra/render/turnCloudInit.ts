import type { Settings } from "../../config/schema";
import { COTURN, TURN_VM_LAYOUT } from "../../config/versions";
import { shellCommand } from "../../scripts/lib/shared/shell";
import { type VmFile, vmScriptSource, writeFile } from "./cloudInit";
import { coturnAptPin, coturnDropIn, coturnOptions, formatCoturnConfig } from "./coturn";
import { cloudConfigText, sshConfig, VM_BASE_FILES } from "./vmBase";

export interface TurnCloudInitInput {
  settings: Settings;
  /** Shared with Prosody; lands in coturn's configuration. */
  secret: string;
  /** The SSH host key (OpenSSH format) the VM must present, so clients can pin it. */
  sshHostKey: { privateKey: string; publicKey: string };
}

/** What turn-setup.sh reads. */
const SETTINGS_FILE = "/etc/jitsi-stack/turn-setup.env";
/** Let's Encrypt counts 5 failed validations per hostname an hour; four tries an hour stay under it. */
const RETRY_SECONDS = 900;

/** The settings file of turn-setup.sh: one shell-quoted assignment a line. */
export function turnSetupSettings(settings: Settings): string {
  const values: Record<string, string> = {
    COTURN_VERSION: COTURN.version,
    TURN_HOSTNAME: settings.turn.hostname,
    ACME_EMAIL: settings.acmeEmail,
    ACME_STAGING: settings.acmeStaging ? "1" : "0",
    CONFIG_FILE: TURN_VM_LAYOUT.configFile,
    CERT_DIR: TURN_VM_LAYOUT.certDir,
    DEPLOY_HOOK: TURN_VM_LAYOUT.deployHook,
  };
  return Object.entries(values)
    .map(([name, value]) => `${name}=${shellCommand(value)}`)
    .join("\n")
    .concat("\n");
}

/** The unit that runs the setup at every boot, and retries it until it succeeds. */
export function turnSetupUnit(): string {
  return [
    "[Unit]",
    "Description=jitsi-stack TURN relay: coturn at the pinned version with its Let's Encrypt certificate",
    "Wants=network-online.target",
    "After=network-online.target",
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=${TURN_VM_LAYOUT.setupScript} ${SETTINGS_FILE}`,
    "Restart=on-failure",
    `RestartSec=${RETRY_SECONDS}`,
    "TimeoutStartSec=1800",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The #cloud-config user-data of the TURN VM. Pure: the same input always gives the same text. */
export function renderTurnCloudInit(input: TurnCloudInitInput): string {
  const { settings } = input;
  const files: VmFile[] = [
    {
      // Root only until turn-setup.sh gives coturn's group read access (that group comes with the package).
      path: TURN_VM_LAYOUT.configFile,
      content: formatCoturnConfig(coturnOptions({ turn: settings.turn, secret: input.secret })),
      permissions: "0600",
    },
    { path: TURN_VM_LAYOUT.coturnDropIn, content: coturnDropIn(), permissions: "0644" },
    { path: TURN_VM_LAYOUT.aptPin, content: coturnAptPin(), permissions: "0644" },
    { path: SETTINGS_FILE, content: turnSetupSettings(settings), permissions: "0644" },
    { path: TURN_VM_LAYOUT.setupScript, content: vmScriptSource("turn-setup.sh"), permissions: "0755" },
    { path: TURN_VM_LAYOUT.deployHook, content: vmScriptSource("turn-deploy-cert.sh"), permissions: "0755" },
    {
      path: `/etc/systemd/system/${TURN_VM_LAYOUT.setupUnit}`,
      content: turnSetupUnit(),
      permissions: "0644",
    },
    ...VM_BASE_FILES,
  ];
  return cloudConfigText({
    package_update: true,
    package_upgrade: true,
    // coturn and certbot come from turn-setup.sh, after the pin and the unit drop-in are in place.
    // chrony: coturn compares the credentials' expiry time, set by Prosody's clock, with its own.
    packages: ["chrony", "unattended-upgrades", "ca-certificates"],
    ntp: { enabled: true, ntp_client: "chrony" },
    timezone: settings.timezone,
    ...sshConfig(settings.sshPublicKeys, input.sshHostKey),
    write_files: files.map(writeFile),
    runcmd: [
      "set -e",
      ["systemctl", "try-reload-or-restart", "ssh"],
      ["systemctl", "daemon-reload"],
      // Not --now: the unit retries on its own schedule, and cloud-init must not wait for certbot.
      ["systemctl", "enable", TURN_VM_LAYOUT.setupUnit],
      ["systemctl", "start", "--no-block", TURN_VM_LAYOUT.setupUnit],
    ],
  });
}
