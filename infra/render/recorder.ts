import type { RecordingSettings } from "../../config/recording";
import type { Settings } from "../../config/schema";
import { CONTAINER_UID, VM_LAYOUT } from "../../config/versions";
import { shellCommand } from "../../scripts/lib/shared/shell";
import { renderCloudInit, vmScript } from "./cloudInit";
import { composeEntries, type EnvEntry } from "./jitsiEnv";
import { privateAddress } from "./privateNetwork";
import { command, composeArgs, stackTaskService, timerUnit } from "./vmUnits";

/**
 * A recorder: the release's `jibri` service alone on a VM of its own, on the private network, logging in
 * to the meeting VM's Prosody. Its finalize step uploads each recording to the bucket (recording-upload.sh).
 */

/** The bucket's keys, in plain text: only inside a Pulumi secret output. */
export interface RecordingKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The release's compose files the recorder runs, relative to the Jitsi directory. */
const RECORDER_COMPOSE_FILES = ["jibri.yml"] as const;

/** Paths on the recorder VM and inside its jibri container (CONFIG/jibri is the container's /config). */
export const RECORDER_LAYOUT = {
  /** Written by cloud-init, root only; installed into CONFIG/jibri, owned by the container's user, at each start. */
  sourceDir: "/etc/jitsi-stack/recorder",
  uploadScript: { name: "recording-upload.sh", container: "/config/recording-upload.sh" },
  uploadSettings: { name: "recording-upload.env", container: "/config/recording-upload.env" },
  /** Jibri writes each session into a directory of its own here (JIBRI_RECORDING_DIR). */
  recordings: { host: `${VM_LAYOUT.configDir}/storage/jibri/recordings`, container: "/storage/recordings" },
  diskGuard: { path: "/usr/local/sbin/jitsi-stack-recorder-disk-guard", source: "recorder-disk-guard.sh" },
  /** On /run, so a reboot forgets it and the guard decides afresh. */
  pauseFile: "/run/jitsi-stack-recorder-paused",
  uploadUnit: "jitsi-stack-recording-upload",
  diskUnit: "jitsi-stack-recorder-disk",
} as const;

/** Stable per recorder: its Jibri id (the brewery nickname) and its hostname come from its number. */
export const recorderName = (index: number) => `recorder-${index}`;

const plain = (name: string, value: string): EnvEntry => ({ name, value, secret: false });
const secret = (name: string, value: string): EnvEntry => ({ name, value, secret: true });

export interface RecorderEnvInput {
  settings: Settings;
  index: number;
  passwords: { JIBRI_RECORDER_PASSWORD: string; JIBRI_XMPP_PASSWORD: string };
}

/** The recorder's `.env`: only what the `jibri` service receives (VARIABLES.tsv) or jibri.yml interpolates. */
export function recorderEnvEntries(input: RecorderEnvInput): EnvEntry[] {
  const { settings: s } = input;
  return [
    // What compose reads to load the release's files and build jibri (jibri.yml's volumes, tag, restart).
    ...composeEntries(s),
    // Chrome joins the meeting at the public site, as participants do.
    plain("PUBLIC_URL", `https://${s.domain}`),
    // Prosody's 5222, published on the meeting VM's private address only.
    plain("XMPP_SERVER", privateAddress("meeting")),
    plain("JIBRI_INSTANCE_ID", recorderName(input.index)),
    plain("JIBRI_RECORDING_DIR", RECORDER_LAYOUT.recordings.container),
    plain("JIBRI_FINALIZE_RECORDING_SCRIPT_PATH", RECORDER_LAYOUT.uploadScript.container),
    // Must match the meeting VM's (prosody creates the accounts with them); the start script stops without.
    secret("JIBRI_RECORDER_PASSWORD", input.passwords.JIBRI_RECORDER_PASSWORD),
    secret("JIBRI_XMPP_PASSWORD", input.passwords.JIBRI_XMPP_PASSWORD),
  ];
}

/** recording-upload.sh's settings: one shell-quoted assignment a line; rclone reads the RCLONE_S3_* ones. */
export function recordingUploadSettings(recording: RecordingSettings, keys: RecordingKeys): string {
  const values: Record<string, string> = {
    RCLONE_S3_PROVIDER: "Other",
    RCLONE_S3_ENDPOINT: recording.endpoint,
    RCLONE_S3_REGION: recording.region,
    RCLONE_S3_ACCESS_KEY_ID: keys.accessKeyId,
    RCLONE_S3_SECRET_ACCESS_KEY: keys.secretAccessKey,
    RECORDING_BUCKET: recording.bucket,
    RECORDING_PREFIX: recording.prefix,
    UPLOAD_ATTEMPTS: "3",
    UPLOAD_RETRY_SECONDS: "20",
  };
  return Object.entries(values)
    .map(([name, value]) => `${name}=${shellCommand(value)}`)
    .join("\n")
    .concat("\n");
}

/** The compose service a recorder VM runs, and the CONFIG directories jibri.yml mounts for it. */
export const RECORDER_SERVICES = { names: ["jibri"], configDirs: ["jibri", "storage/jibri"] } as const;

/** Installs the upload files for the container's user before Jibri starts (jitsi-meet.service's ExecStartPre). */
export function recorderStartPre(): string[][] {
  const install = (name: string, mode: string) => [
    "/usr/bin/install",
    "-o",
    String(CONTAINER_UID),
    "-g",
    String(CONTAINER_UID),
    "-m",
    mode,
    `${RECORDER_LAYOUT.sourceDir}/${name}`,
    `${VM_LAYOUT.configDir}/jibri/${name}`,
  ];
  return [
    install(RECORDER_LAYOUT.uploadScript.name, "0755"),
    install(RECORDER_LAYOUT.uploadSettings.name, "0600"),
  ];
}

/**
 * The retry of pending uploads, and the disk guard. The retry runs the upload script in a fresh jibri
 * container (`compose run`), so it works while the guard has Jibri stopped, and after every reboot.
 */
export function recorderUnits(recording: RecordingSettings): Record<string, string> {
  const compose = composeArgs(RECORDER_COMPOSE_FILES);
  return {
    [`${RECORDER_LAYOUT.uploadUnit}.service`]: stackTaskService(
      "Upload recordings whose upload failed or never ran (jitsi-stack)",
      command(
        ...compose,
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "--entrypoint",
        RECORDER_LAYOUT.uploadScript.container,
        "jibri",
        "--pending",
        RECORDER_LAYOUT.recordings.container,
      ),
    ),
    [`${RECORDER_LAYOUT.uploadUnit}.timer`]: timerUnit("Retry pending recording uploads", [
      "OnBootSec=5min",
      "OnUnitInactiveSec=10min",
    ]),
    [`${RECORDER_LAYOUT.diskUnit}.service`]: stackTaskService(
      "Stop Jibri taking recordings while the disk is low (jitsi-stack)",
      command(
        RECORDER_LAYOUT.diskGuard.path,
        RECORDER_LAYOUT.recordings.host,
        String(recording.minFreeGb * 1024),
        RECORDER_LAYOUT.pauseFile,
        ...compose,
      ),
    ),
    [`${RECORDER_LAYOUT.diskUnit}.timer`]: timerUnit("Check the recorder's free disk every minute", [
      "OnBootSec=2min",
      "OnUnitActiveSec=1min",
    ]),
  };
}

export interface RecorderCloudInitInput {
  settings: Settings;
  index: number;
  passwords: RecorderEnvInput["passwords"];
  keys: RecordingKeys;
  sshHostKey: { privateKey: string; publicKey: string };
}

/**
 * The #cloud-config user-data of one recorder: the meeting VM's own self-healing jitsi-meet.service and
 * release check (infra/render/cloudInit.ts), running only `jibri`, once its private address is up, with
 * the upload files and units. Pure: the same input always gives the same text.
 */
export function renderRecorderCloudInit(input: RecorderCloudInitInput): string {
  const { settings: s } = input;
  const units = recorderUnits(s.recording);
  return renderCloudInit({
    settings: s,
    env: recorderEnvEntries(input),
    sshHostKey: input.sshHostKey,
    privateAddress: privateAddress("recorder", input.index),
    services: RECORDER_SERVICES,
    extraComposeFiles: RECORDER_COMPOSE_FILES,
    extraStartPre: recorderStartPre(),
    // The timers start their services; each service runs only while the stack is up.
    extraUnits: { files: units, start: Object.keys(units).filter((name) => name.endsWith(".timer")) },
    extraFiles: [
      {
        path: `${RECORDER_LAYOUT.sourceDir}/${RECORDER_LAYOUT.uploadSettings.name}`,
        content: recordingUploadSettings(s.recording, input.keys),
        permissions: "0600",
      },
      {
        path: `${RECORDER_LAYOUT.sourceDir}/${RECORDER_LAYOUT.uploadScript.name}`,
        content: vmScript(RECORDER_LAYOUT.uploadScript.name),
        permissions: "0755",
        compress: true,
      },
      {
        path: RECORDER_LAYOUT.diskGuard.path,
        content: vmScript(RECORDER_LAYOUT.diskGuard.source),
        permissions: "0755",
        compress: true,
      },
    ],
  });
}
