import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { coturnAptPin, coturnDropIn, coturnOptions, formatCoturnConfig } from "../../../infra/render/coturn";
import { renderTurnCloudInit, turnSetupSettings, turnSetupUnit } from "../../../infra/render/turnCloudInit";
import { settingsWith } from "../../helpers/settings";
import { verifySystemdUnits } from "../../helpers/systemd";
import { cloudInitSchema } from "../../helpers/userData";

const SECRET = "5a".repeat(20);
const HOST_KEY = {
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLE",
};
const work = mkdtempSync(path.join(tmpdir(), "turn-cloud-init-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface CloudConfig {
  packages: string[];
  ssh_keys: Record<string, string>;
  ssh_pwauth: boolean;
  write_files: Array<{
    path: string;
    content: string;
    permissions: string;
    owner: string;
    encoding?: string;
  }>;
  runcmd: Array<string | string[]>;
}
const render = (overrides: Record<string, string> = {}) =>
  renderTurnCloudInit({ settings: settingsWith(overrides), secret: SECRET, sshHostKey: HOST_KEY });
const doc = (text: string) => parse(text) as CloudConfig;
const file = (text: string, filePath: string) => doc(text).write_files.find((f) => f.path === filePath);

describe("the TURN VM's cloud-init user-data", () => {
  it("passes cloud-init's own schema validation", async () => {
    const result = await cloudInitSchema(render());
    expect(result.output).toMatch(/Valid cloud-config/);
    expect(result.ok).toBe(true);
  });

  it("writes coturn's configuration as rendered, for root only until coturn's group exists", () => {
    const config = file(render(), "/etc/jitsi-stack/coturn.conf");
    expect(config?.permissions).toBe("0600");
    // cloud-init's default owner is root:root.
    expect(config?.owner ?? "root:root").toBe("root:root");
    expect(config?.content).toBe(
      formatCoturnConfig(coturnOptions({ turn: settingsWith().turn, secret: SECRET })),
    );
  });

  it("holds the secret in coturn's configuration only", () => {
    const text = render();
    expect(text.split(SECRET)).toHaveLength(2);
  });

  it("points Ubuntu's coturn.service at our files and pins coturn's version before anything installs it", () => {
    const text = render();
    expect(file(text, "/etc/systemd/system/coturn.service.d/jitsi-stack.conf")?.content).toBe(coturnDropIn());
    expect(file(text, "/etc/apt/preferences.d/jitsi-stack-coturn")?.content).toBe(coturnAptPin());
    // coturn and certbot are not cloud-init packages: the package would start before the drop-in counts.
    expect(doc(text).packages).toEqual(["chrony", "unattended-upgrades", "ca-certificates"]);
  });

  it("ships the setup script and certbot's deploy hook as they are in infra/vm", () => {
    const text = render();
    expect(file(text, "/usr/local/sbin/jitsi-stack-turn-setup")).toMatchObject({
      permissions: "0755",
      content: readFileSync("infra/vm/turn-setup.sh", "utf8"),
    });
    expect(file(text, "/usr/local/sbin/jitsi-stack-turn-deploy-cert")).toMatchObject({
      permissions: "0755",
      content: readFileSync("infra/vm/turn-deploy-cert.sh", "utf8"),
    });
    // The hook's default folder is the one coturn reads.
    expect(readFileSync("infra/vm/turn-deploy-cert.sh", "utf8")).toContain(
      "cert_dir=${TURN_CERT_DIR:-/etc/jitsi-stack/coturn-certs}",
    );
  });

  it("runs the setup from a unit that retries every 15 minutes and at every boot, without holding up cloud-init", () => {
    const text = render();
    const unit = file(text, "/etc/systemd/system/jitsi-stack-turn.service")?.content ?? "";
    expect(unit).toMatch(
      /^ExecStart=\/usr\/local\/sbin\/jitsi-stack-turn-setup \/etc\/jitsi-stack\/turn-setup\.env$/m,
    );
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartSec=900$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(doc(text).runcmd.slice(-2)).toEqual([
      ["systemctl", "enable", "jitsi-stack-turn.service"],
      ["systemctl", "start", "--no-block", "jitsi-stack-turn.service"],
    ]);
  });

  it("its units pass systemd's own verification: the setup unit, and Debian's coturn.service with our drop-in", () => {
    const result = verifySystemdUnits(
      work,
      {
        "jitsi-stack-turn.service": turnSetupUnit(),
        // Debian's own unit, read with our drop-in as systemd reads it on the VM.
        "coturn.service": readFileSync("/usr/lib/systemd/system/coturn.service", "utf8"),
        "coturn.service.d/jitsi-stack.conf": coturnDropIn(),
      },
      ["/usr/local/sbin/jitsi-stack-turn-setup", "/usr/bin/turnserver", "/bin/kill"],
    );
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
    // The check can fail: a unit systemd would refuse is reported.
    const broken = verifySystemdUnits(
      work,
      { "jitsi-stack-turn.service": turnSetupUnit().replace("Restart=on-failure", "Restart=always") },
      ["/usr/local/sbin/jitsi-stack-turn-setup"],
    );
    expect(broken.output).toContain("isn't allowed for Type=oneshot services");
    // ... and so is a drop-in that adds a second ExecStart= instead of replacing the package's.
    const appended = verifySystemdUnits(
      work,
      {
        "coturn.service": readFileSync("/usr/lib/systemd/system/coturn.service", "utf8"),
        "coturn.service.d/jitsi-stack.conf": coturnDropIn().replace("ExecStart=\n", ""),
      },
      ["/usr/bin/turnserver", "/bin/kill"],
    );
    expect(appended.output).toContain("more than one ExecStart= setting");
  });

  it("hands the setup its settings shell-quoted, staging CA included", () => {
    const settings = settingsWith({ acmeEmail: "o'neil+ops@example.com", acmeStaging: "true" });
    const target = path.join(work, "turn-setup.env");
    writeFileSync(target, turnSetupSettings(settings));
    const read = spawnSync(
      "sh",
      [
        "-c",
        '. "$1"; printf "%s|%s|%s|%s" "$ACME_EMAIL" "$ACME_STAGING" "$TURN_HOSTNAME" "$COTURN_VERSION"',
        "sh",
        target,
      ],
      {
        encoding: "utf8",
      },
    );
    expect(read.stdout).toBe("o'neil+ops@example.com|1|turn.meet.example.com|4.6.1");
  });

  it("presents the SSH host key from Pulumi state, with password login off, and keeps the clock synced", () => {
    const config = doc(render());
    expect(config.ssh_keys).toEqual({
      ed25519_private: HOST_KEY.privateKey,
      ed25519_public: HOST_KEY.publicKey,
    });
    expect(config.ssh_pwauth).toBe(false);
    expect(file(render(), "/etc/ssh/sshd_config.d/60-jitsi-stack.conf")?.content).toMatch(
      /^PasswordAuthentication no$/m,
    );
  });

  it("is the same text for the same input, and small", () => {
    expect(render()).toBe(render());
    expect(Buffer.byteLength(render())).toBeLessThan(12 * 1024);
  });
});
