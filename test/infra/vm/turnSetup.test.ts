import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const SETUP = path.resolve("infra/vm/turn-setup.sh");
const HOOK = path.resolve("infra/vm/turn-deploy-cert.sh");
const work = mkdtempSync(path.join(tmpdir(), "turn-setup-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Stand-ins for what turn-setup.sh drives on the VM. They keep their state in files: apt-get "installs"
 * coturn at $COTURN_AVAILABLE, certbot fails while a fail-count file says so and otherwise issues a
 * certificate and runs the deploy hook as certbot does, and every call is logged.
 */
const STAND_INS: Record<string, string> = {
  "dpkg-query": `#!/bin/sh
pkg=$(eval echo "\\$$#")
[ -f "$STATE/installed-$pkg" ] || exit 1
case "$2" in
  *Status*) echo "install ok installed" ;;
  *Version*) cat "$STATE/installed-$pkg" ;;
esac`,
  "apt-get": `#!/bin/sh
echo "apt-get $*" >> "$STATE/log"
case "$*" in
  *install*) printf '%s' "$COTURN_AVAILABLE" > "$STATE/installed-coturn"; echo 2.9.0-1 > "$STATE/installed-certbot" ;;
esac`,
  certbot: `#!/bin/sh
echo "certbot $*" >> "$STATE/log"
fails=$(cat "$STATE/certbot-fails" 2>/dev/null || echo 0)
if [ "$fails" -gt 0 ]; then
  echo $((fails - 1)) > "$STATE/certbot-fails"
  echo "Challenge failed for domain turn.meet.example.com" >&2
  exit 1
fi
while [ "$#" -gt 0 ]; do
  case "$1" in --domain) domain=$2 ;; --deploy-hook) hook=$2 ;; esac
  shift
done
live="$LETSENCRYPT_DIR/live/$domain"
mkdir -p "$live"
echo "chain $domain" > "$live/fullchain.pem"
echo "key $domain" > "$live/privkey.pem"
RENEWED_LINEAGE=$live RENEWED_DOMAINS=$domain "$hook"`,
  systemctl: `#!/bin/sh
echo "systemctl $*" >> "$STATE/log"`,
};

interface Vm {
  dir: string;
  certDir: string;
  config: string;
  run(options?: { coturnAvailable?: string }): { status: number | null; stderr: string };
  log(): string[];
  clearLog(): void;
  failCertbot(times: number): void;
}

function standInVm(name: string, settings: Record<string, string> = {}): Vm {
  const dir = path.join(work, name);
  const [bin, state, certDir, letsencrypt] = ["bin", "state", "certs", "letsencrypt"].map((d) =>
    path.join(dir, d),
  );
  for (const d of [bin!, state!]) mkdirSync(d, { recursive: true });
  for (const [command, body] of Object.entries(STAND_INS)) {
    writeFileSync(path.join(bin!, command), `${body}\n`, { mode: 0o755 });
  }
  const config = path.join(dir, "coturn.conf");
  writeFileSync(config, "use-auth-secret\n", { mode: 0o600 });
  const values = {
    COTURN_VERSION: "4.6.1",
    TURN_HOSTNAME: "turn.meet.example.com",
    ACME_EMAIL: "ops@example.com",
    ACME_STAGING: "0",
    CONFIG_FILE: config,
    CERT_DIR: certDir!,
    DEPLOY_HOOK: HOOK,
    ...settings,
  };
  const settingsFile = path.join(dir, "turn-setup.env");
  writeFileSync(
    settingsFile,
    Object.entries(values)
      .map(([k, v]) => `${k}='${v}'\n`)
      .join(""),
  );
  const logFile = path.join(state!, "log");
  return {
    dir,
    certDir: certDir!,
    config,
    run({ coturnAvailable = "4.6.1-1build4" } = {}) {
      const result = spawnSync("sh", [SETUP, settingsFile], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          STATE: state,
          LETSENCRYPT_DIR: letsencrypt,
          COTURN_AVAILABLE: coturnAvailable,
        },
      });
      return { status: result.status, stderr: result.stderr };
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8").trim().split("\n") : []),
    clearLog: () => rmSync(logFile, { force: true }),
    failCertbot: (times) => writeFileSync(path.join(state!, "certbot-fails"), String(times)),
  };
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe("turn-setup.sh on the TURN VM (stand-ins for apt, certbot and systemd)", () => {
  it("installs coturn and certbot, gets the certificate with the deploy hook, hands it to coturn and starts it", () => {
    const vm = standInVm("fresh");
    const result = vm.run();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const log = vm.log();
    expect(log.filter((l) => l.startsWith("apt-get"))).toEqual([
      "apt-get -o DPkg::Lock::Timeout=600 update -q",
      "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends coturn certbot",
    ]);
    expect(log.filter((l) => l.startsWith("certbot"))).toEqual([
      `certbot certonly --standalone --non-interactive --agree-tos --email ops@example.com --domain turn.meet.example.com --key-type ecdsa --deploy-hook ${HOOK}`,
    ]);
    expect(readFileSync(path.join(vm.certDir, "fullchain.pem"), "utf8")).toBe(
      "chain turn.meet.example.com\n",
    );
    expect(readFileSync(path.join(vm.certDir, "privkey.pem"), "utf8")).toBe("key turn.meet.example.com\n");
    expect(mode(vm.config)).toBe("640");
    // The hook's reload comes first (a no-op while coturn is stopped), then the first start.
    expect(log.filter((l) => l.startsWith("systemctl"))).toEqual([
      "systemctl try-reload-or-restart coturn.service",
      "systemctl enable coturn.service",
      "systemctl restart coturn.service",
    ]);
  });

  it("asks Let's Encrypt's staging CA when the stack says so", () => {
    const vm = standInVm("staging", { ACME_STAGING: "1" });
    expect(vm.run().status).toBe(0);
    expect(vm.log().find((l) => l.startsWith("certbot"))).toMatch(/ --staging$/);
  });

  it("fails without starting coturn while certbot fails, then heals on a later run without reinstalling", () => {
    const vm = standInVm("heals");
    vm.failCertbot(2);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const failed = vm.run();
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toContain("Challenge failed");
    }
    expect(vm.log().filter((l) => l.startsWith("systemctl"))).toEqual([]);
    expect(existsSync(path.join(vm.certDir, "fullchain.pem"))).toBe(false);
    vm.clearLog();
    expect(vm.run().status).toBe(0);
    expect(vm.log().some((l) => l.startsWith("apt-get"))).toBe(false);
    expect(vm.log().slice(-1)).toEqual(["systemctl restart coturn.service"]);
  });

  it("refuses a coturn other than the pinned version and never starts it", () => {
    const vm = standInVm("other-version");
    const result = vm.run({ coturnAvailable: "4.7.0-1" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("coturn 4.7.0-1 is installed, but jitsi-stack pins 4.6.1; not starting it\n");
    expect(vm.log().some((l) => l.startsWith("certbot") || l.startsWith("systemctl"))).toBe(false);
  });

  it("finishes the hand-over when an earlier run stopped after issuance, without asking Let's Encrypt again", () => {
    const vm = standInVm("issued");
    expect(vm.run().status).toBe(0);
    rmSync(vm.certDir, { recursive: true });
    vm.clearLog();
    expect(vm.run().status).toBe(0);
    expect(vm.log().some((l) => l.startsWith("certbot"))).toBe(false);
    expect(readFileSync(path.join(vm.certDir, "fullchain.pem"), "utf8")).toBe(
      "chain turn.meet.example.com\n",
    );
  });

  it("at a later boot only restarts coturn", () => {
    const vm = standInVm("reboot");
    expect(vm.run().status).toBe(0);
    vm.clearLog();
    expect(vm.run().status).toBe(0);
    expect(vm.log()).toEqual(["systemctl enable coturn.service", "systemctl restart coturn.service"]);
  });
});
