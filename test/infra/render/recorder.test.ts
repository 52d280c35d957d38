import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { VM_LAYOUT } from "../../../config/versions";
import {
  RECORDER_LAYOUT,
  recorderEnvEntries,
  RECORDER_SERVICES,
  recorderUnits,
  recordingUploadSettings,
  renderRecorderCloudInit,
} from "../../../infra/render/recorder";
import { privateAddress } from "../../../infra/render/privateNetwork";
import { VM_SCRIPTS, WAIT_ADDRESS_SCRIPT } from "../../../infra/render/vmUnits";
import { composeConfig } from "../../helpers/compose";
import { fakePasswords, renderedEnv, settingsWith } from "../../helpers/settings";
import { verifySystemdUnits } from "../../helpers/systemd";
import { RELEASE_DIR, renderTemplate, variablesReceivedBy } from "../../helpers/tpl";
import { cloudInitSchema, writtenFiles } from "../../helpers/userData";

const RECORDING = {
  recordingEnabled: "true",
  recorders: "2",
  recordingBucket: "meet-recordings",
  recordingAccessKeyId: "HZ4SAMPLEKEY0000ABCD",
  recordingSecretAccessKey: "s3cr3tS4mpleKeyWith40Chars/abcdefghij+XY",
  recordingPrefix: "meet/",
};
const KEYS = {
  accessKeyId: RECORDING.recordingAccessKeyId,
  secretAccessKey: RECORDING.recordingSecretAccessKey,
};
const HOST_KEY = {
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyExample",
};
const settings = settingsWith(RECORDING);
const passwords = fakePasswords();
const work = mkdtempSync(path.join(tmpdir(), "recorder-render-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const envOf = (index: number) =>
  Object.fromEntries(recorderEnvEntries({ settings, index, passwords }).map((e) => [e.name, e.value]));
const userData = (index: number) =>
  renderRecorderCloudInit({ settings, index, passwords, keys: KEYS, sshHostKey: HOST_KEY });

/** Variables a compose file interpolates (`${NAME}`, `${NAME:-default}`). */
function interpolated(file: string): Set<string> {
  const text = readFileSync(path.join(RELEASE_DIR, file), "utf8");
  return new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
}

describe("a recorder's user-data", () => {
  it.each([1, 2])("passes cloud-init schema (recorder %i)", async (index) => {
    const result = await cloudInitSchema(userData(index));
    expect(result.output).toContain("Valid cloud-config");
    expect(result.ok).toBe(true);
  });

  it("writes the .env, the upload script and its settings root-only, the units and the VM scripts", () => {
    const files = new Map(writtenFiles(userData(1)).map((f) => [f.path, f]));
    expect(files.get(`${VM_LAYOUT.jitsiDir}/.env`)?.permissions).toBe("0600");
    const settingsFile = files.get(`${RECORDER_LAYOUT.sourceDir}/recording-upload.env`);
    expect(settingsFile?.permissions).toBe("0600");
    expect(settingsFile?.content).toContain("RCLONE_S3_SECRET_ACCESS_KEY=");
    expect(files.get(`${RECORDER_LAYOUT.sourceDir}/recording-upload.sh`)?.content).toContain("rclone copy");
    const unit = files.get("/etc/systemd/system/jitsi-meet.service")?.content ?? "";
    // Only jibri, never the meeting services its compose file depends on.
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/docker compose -f docker-compose.yml -f jibri.yml up -d --remove-orphans --no-deps jibri$/m,
    );
    expect(unit).not.toContain("jitsi-stack-mount-state");
    expect(unit).toContain(
      `ExecStartPre=/usr/bin/install -o 1000 -g 1000 -m 0600 ${RECORDER_LAYOUT.sourceDir}/recording-upload.env ${VM_LAYOUT.configDir}/jibri/recording-upload.env`,
    );
    for (const name of Object.keys(recorderUnits(settings.recording))) {
      expect(files.has(`/etc/systemd/system/${name}`), name).toBe(true);
    }
  });

  it.each([1, 2])("starts Jibri only once its private address is up (recorder %i)", (index) => {
    const files = new Map(writtenFiles(userData(index)).map((f) => [f.path, f]));
    const unit = files.get("/etc/systemd/system/jitsi-meet.service")?.content ?? "";
    const lines = unit.split("\n");
    const wait = lines.indexOf(
      `ExecStartPre=${WAIT_ADDRESS_SCRIPT.path} ${privateAddress("recorder", index)} 120`,
    );
    expect(wait).toBeGreaterThan(-1);
    expect(wait).toBeLessThan(lines.findIndex((l) => l.startsWith("ExecStart=")));
    expect(files.get(WAIT_ADDRESS_SCRIPT.path)?.permissions).toBe("0755");
  });

  it("writes the release file the operator scripts check the VM against", () => {
    const release = writtenFiles(userData(1)).find((f) => f.path === VM_LAYOUT.releaseFile);
    expect(JSON.parse(release?.content ?? "null")).toEqual({
      tag: settings.jitsiRelease.tag,
      commit: settings.jitsiRelease.commit,
    });
  });

  it("creates only the CONFIG directories jibri.yml mounts, and copies no nginx files", () => {
    const mounted = [
      ...readFileSync(path.join(RELEASE_DIR, "jibri.yml"), "utf8").matchAll(/\$\{CONFIG\}\/([^:]+):/g),
    ].map((m) => m[1]);
    expect([...RECORDER_SERVICES.configDirs]).toEqual(mounted);
    const unit =
      writtenFiles(userData(1)).find((f) => f.path === "/etc/systemd/system/jitsi-meet.service")?.content ??
      "";
    expect(unit).toMatch(
      /^ExecStartPre=\/usr\/local\/sbin\/jitsi-stack-install .* 1000 jibri storage\/jibri$/m,
    );
    expect(unit).not.toContain("MANAGED_CONFIG_DIR");
  });

  it("enables and starts jitsi-meet.service and the two timers, no service on its own", () => {
    const runcmd = (parse(userData(1)) as { runcmd: string[][] }).runcmd;
    const units = [
      "jitsi-meet.service",
      "jitsi-stack-recording-upload.timer",
      "jitsi-stack-recorder-disk.timer",
    ];
    expect(runcmd).toContainEqual(["systemctl", "enable", ...units]);
    expect(runcmd).toContainEqual(["systemctl", "start", "--no-block", ...units]);
  });
});

describe("a recorder's .env", () => {
  it("holds only variables that jibri receives (VARIABLES.tsv) or that its compose files interpolate", () => {
    const received = variablesReceivedBy("jibri");
    const composeVars = new Set([...interpolated("jibri.yml"), ...interpolated("docker-compose.yml")]);
    for (const name of Object.keys(envOf(1))) {
      expect(received.has(name) || composeVars.has(name), name).toBe(true);
    }
    // The interpolation-only ones are exactly the compose file's, not variables for some other service.
    expect(Object.keys(envOf(1)).filter((n) => !received.has(n))).toEqual([
      "CONFIG",
      "JITSI_IMAGE_VERSION",
      "RESTART_POLICY",
      "HTTP_PORT",
      "HTTPS_PORT",
    ]);
  });

  it("shares the Jibri passwords with the meeting VM, whose prosody creates the accounts", () => {
    const meeting = renderedEnv(RECORDING);
    expect(envOf(1).JIBRI_XMPP_PASSWORD).toBe(meeting.JIBRI_XMPP_PASSWORD);
    expect(envOf(1).JIBRI_RECORDER_PASSWORD).toBe(meeting.JIBRI_RECORDER_PASSWORD);
    expect(variablesReceivedBy("prosody").has("JIBRI_XMPP_PASSWORD")).toBe(true);
    expect(variablesReceivedBy("prosody").has("JIBRI_RECORDER_PASSWORD")).toBe(true);
  });

  it("gives each recorder its own Jibri id", () => {
    expect(envOf(1).JIBRI_INSTANCE_ID).toBe("recorder-1");
    expect(envOf(2).JIBRI_INSTANCE_ID).toBe("recorder-2");
  });
});

describe("the release's jibri templates, rendered from a recorder's .env", () => {
  const jibriConf = renderTemplate("jibri", "jibri.conf", envOf(1));
  const xmppConf = renderTemplate("jibri", "xmpp.conf", envOf(1));

  it("run the upload script as the finalize step, on Jibri's recordings directory (without the path, no upload)", () => {
    expect(jibriConf).toContain('recordings-directory = "/storage/recordings"');
    expect(jibriConf).toContain(`finalize-script = "${RECORDER_LAYOUT.uploadScript.container}"`);
    expect(jibriConf).toContain('id = "recorder-1"');
    // The setting has an effect: without it the template writes no finalize step, so nothing is uploaded.
    const { JIBRI_FINALIZE_RECORDING_SCRIPT_PATH: _, ...without } = envOf(1);
    expect(renderTemplate("jibri", "jibri.conf", without)).not.toContain("finalize-script");
  });

  it("log in to the meeting VM's Prosody over the private network, with the shared passwords", () => {
    expect(xmppConf).toMatch(/xmpp-server-hosts = \[\s*"10\.0\.0\.2"\s*\]/);
    expect(xmppConf).toMatch(/control-login \{[^}]*username = "jibri"[^}]*password = "([^"]+)"/);
    expect(/control-login \{[^}]*password = "([^"]+)"/.exec(xmppConf)?.[1]).toBe(
      passwords.JIBRI_XMPP_PASSWORD,
    );
    expect(/call-login \{[^}]*password = "([^"]+)"/.exec(xmppConf)?.[1]).toBe(
      passwords.JIBRI_RECORDER_PASSWORD,
    );
    expect(xmppConf).toContain('base-url = "https://meet.example.com"');
    expect(xmppConf).toContain('nickname = "recorder-1"');
  });
});

describe("the recorder's compose run", () => {
  it("gives jibri its 2 GB of shared memory and the config and storage volumes", () => {
    const env = Object.entries(envOf(1))
      .map(([k, v]) => `${k}=${v}`)
      .join("\n");
    const result = composeConfig(work, [path.join(RELEASE_DIR, "jibri.yml")], `${env}\n`);
    expect(result.status, result.stderr).toBe(0);
    const jibri = result.services?.jibri as Record<string, unknown>;
    // The image's start script exits when /dev/shm is under 2 GB.
    expect(String(jibri.shm_size)).toMatch(/^(2gb|2147483648)$/);
    expect(JSON.stringify(jibri.volumes)).toContain(`${VM_LAYOUT.configDir}/jibri`);
    expect(JSON.stringify(jibri.volumes)).toContain(`${VM_LAYOUT.configDir}/storage/jibri`);
    expect((jibri.environment as Record<string, string>).XMPP_SERVER).toBe("10.0.0.2");
    expect(jibri.image).toBe(`ghcr.io/jitsi/jibri:${settings.jitsiRelease.tag}`);
  });
});

describe("the meeting VM with recording on", () => {
  it("sends ENABLE_RECORDING to exactly web, prosody and jicofo, and only when recording is on", () => {
    expect(renderedEnv(RECORDING).ENABLE_RECORDING).toBe("1");
    expect(renderedEnv().ENABLE_RECORDING).toBeUndefined();
    const readers = ["web", "prosody", "jicofo", "jvb", "jibri"].filter((s) =>
      variablesReceivedBy(s).has("ENABLE_RECORDING"),
    );
    expect(readers).toEqual(["web", "prosody", "jicofo"]);
  });

  it("turns on the web app's recording service, and jicofo's Jibri pool", () => {
    const on = renderedEnv(RECORDING);
    const web = renderTemplate("web", "settings-config.js", on);
    expect(web).toMatch(/config\.recordingService = \{[^}]*enabled: true/);
    expect(renderTemplate("web", "settings-config.js", renderedEnv())).not.toContain(
      "config.recordingService",
    );
    expect(renderTemplate("jicofo", "jicofo.conf", on)).toMatch(/jibri \{[^}]*brewery-jid = "jibribrewery@/);
  });
});

describe("the upload settings file", () => {
  it("gives the script back every value exactly, secrets with / + = included", () => {
    const file = path.join(work, "upload.env");
    writeFileSync(file, recordingUploadSettings(settings.recording, KEYS));
    const out = spawnSync(
      "sh",
      [
        "-c",
        'set -a; . "$1"; printf "%s\\n" "$RCLONE_S3_SECRET_ACCESS_KEY" "$RECORDING_BUCKET" "$RECORDING_PREFIX" "$RCLONE_S3_ENDPOINT"',
        "sh",
        file,
      ],
      { encoding: "utf8" },
    );
    expect(out.stdout.split("\n").slice(0, 4)).toEqual([
      KEYS.secretAccessKey,
      "meet-recordings",
      "meet/",
      "https://nbg1.your-objectstorage.com",
    ]);
  });
});

describe("the recorder's units", () => {
  it("pass systemd-analyze verify, the shared jitsi-meet.service in its recorder form among them", () => {
    const unitDir = "/etc/systemd/system/";
    const units = Object.fromEntries(
      writtenFiles(userData(1))
        .filter((f) => f.path.startsWith(unitDir))
        .map((f) => [f.path.slice(unitDir.length), f.content]),
    );
    expect(Object.keys(units).sort()).toEqual(
      ["jitsi-meet.service", ...Object.keys(recorderUnits(settings.recording))].sort(),
    );
    const result = verifySystemdUnits(work, units, [
      "/usr/bin/docker",
      "/usr/bin/install",
      VM_SCRIPTS.install.path,
      VM_SCRIPTS.blockMetadata.path,
      WAIT_ADDRESS_SCRIPT.path,
      RECORDER_LAYOUT.diskGuard.path,
    ]);
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("retry pending uploads from boot on, in a fresh container, so a paused Jibri does not stop them", () => {
    const units = recorderUnits(settings.recording);
    expect(units["jitsi-stack-recording-upload.timer"]).toContain("OnBootSec=5min");
    expect(units["jitsi-stack-recording-upload.service"]).toContain(
      "run --rm --no-deps -T --entrypoint /config/recording-upload.sh jibri --pending /storage/recordings",
    );
    expect(units["jitsi-stack-recorder-disk.service"]).toContain(` ${10 * 1024} `);
  });
});
