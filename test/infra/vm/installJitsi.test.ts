import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_MOUNT_DIRS } from "../../../config/versions";
import { StandIns } from "../../helpers/standins";

const SCRIPT = path.resolve("infra/vm/install-jitsi.sh");
const work = mkdtempSync(path.join(tmpdir(), "install-jitsi-"));
const upstream = path.join(work, "upstream");
let taggedCommit = "";
let laterCommit = "";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd })
    .toString()
    .trim();

/** Runs the script as the unit does, with a local repository standing in for GitHub. */
function install(target: string, tag: string, commit: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(
    "sh",
    [
      SCRIPT,
      upstream,
      tag,
      commit,
      target,
      path.join(target, "config"),
      String(process.getuid!()),
      ...CONFIG_MOUNT_DIRS,
    ],
    { encoding: "utf8", env },
  );
}

beforeAll(() => {
  mkdirSync(upstream);
  git(upstream, "init", "--quiet", "--initial-branch=master");
  writeFileSync(path.join(upstream, "docker-compose.yml"), "services: {}\n");
  writeFileSync(path.join(upstream, ".gitignore"), ".env\n");
  git(upstream, "add", ".");
  git(upstream, "commit", "--quiet", "-m", "release");
  git(upstream, "tag", "stable-1");
  taggedCommit = git(upstream, "rev-parse", "HEAD");
  writeFileSync(path.join(upstream, "docker-compose.yml"), "services: {unstable: {}}\n");
  git(upstream, "commit", "--quiet", "-am", "unstable work on the default branch");
  laterCommit = git(upstream, "rev-parse", "HEAD");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("install-jitsi.sh on the VM", () => {
  it("checks out the tag (not the default branch) next to an existing .env, and creates every config dir", () => {
    const target = path.join(work, "ok");
    mkdirSync(target);
    writeFileSync(path.join(target, ".env"), "AUTH_TYPE=jwt\n", { mode: 0o600 });
    const result = install(target, "stable-1", taggedCommit);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(git(target, "rev-parse", "HEAD")).toBe(taggedCommit);
    expect(readFileSync(path.join(target, "docker-compose.yml"), "utf8")).toBe("services: {}\n");
    expect(readFileSync(path.join(target, ".env"), "utf8")).toBe("AUTH_TYPE=jwt\n");
    expect(statSync(path.join(target, ".env")).mode & 0o777).toBe(0o600);
    for (const dir of CONFIG_MOUNT_DIRS) {
      const stat = statSync(path.join(target, "config", dir));
      expect(stat.isDirectory(), dir).toBe(true);
      expect(stat.uid, dir).toBe(process.getuid!());
    }
  });

  it("refuses to go on when the tag does not resolve to the pinned commit", () => {
    const target = path.join(work, "mismatch");
    const result = install(target, "stable-1", laterCommit);
    // 3, not 1: the unit's RestartPreventExitStatus=3 stops retries that cannot help.
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(
      `refusing to start: tag stable-1 resolves to ${taggedCommit}, expected ${laterCommit}`,
    );
    expect(existsSync(path.join(target, "docker-compose.yml"))).toBe(false);
    expect(existsSync(path.join(target, "config"))).toBe(false);
  });

  it("fails clearly on a tag that does not exist, after its retries", () => {
    const result = spawnSync(
      "sh",
      [
        SCRIPT,
        upstream,
        "stable-404",
        taggedCommit,
        path.join(work, "missing"),
        path.join(work, "missing", "config"),
        "0",
        "web",
      ],
      {
        encoding: "utf8",
        env: { ...process.env, FETCH_RETRY_SECONDS: "0" },
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`could not fetch tag stable-404 from ${upstream} after 5 attempts`);
  });

  it("installs Docker, compose and git when a failed first boot left them out, then goes on", () => {
    const target = path.join(work, "packages");
    const bin = new StandIns(path.join(work, "packages-bin"))
      // docker answers only once the stand-in apt-get has "installed" it.
      .raw("docker", `[ -f "${work}/packages-bin/installed" ]`)
      .logged("apt-get", `[ "$1" = update ] || touch "${work}/packages-bin/installed"`);
    const result = install(
      target,
      "stable-1",
      taggedCommit,
      bin.env({ REQUIRED_PACKAGES: "docker.io docker-compose-v2 git" }),
    );
    expect(result.status).toBe(0);
    expect(readFileSync(bin.log, "utf8")).toBe(
      "apt-get update -q\napt-get install -y -q docker.io docker-compose-v2 git\n",
    );
    expect(git(target, "rev-parse", "HEAD")).toBe(taggedCommit);
    // Installed now: the next start does not call apt again.
    writeFileSync(bin.log, "");
    expect(
      install(target, "stable-1", taggedCommit, bin.env({ REQUIRED_PACKAGES: "docker.io" })).status,
    ).toBe(0);
    expect(readFileSync(bin.log, "utf8")).toBe("");
  });

  it("asks for another try (exit 1) when the packages cannot be installed yet", () => {
    const bin = new StandIns(path.join(work, "apt-down-bin"))
      .raw("docker", "exit 1")
      .logged("apt-get", "exit 100");
    const result = install(
      path.join(work, "apt-down"),
      "stable-1",
      taggedCommit,
      bin.env({ REQUIRED_PACKAGES: "docker.io" }),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("install-jitsi: installing docker.io failed");
    expect(existsSync(path.join(work, "apt-down"))).toBe(false);
  });

  it("copies the settings' config files onto the volume and drops nginx locations a past setting left", () => {
    const target = path.join(work, "managed");
    const managed = path.join(work, "managed-config");
    mkdirSync(path.join(managed, "web/nginx-custom"), { recursive: true });
    writeFileSync(path.join(managed, "web/nginx-custom/token-issuer.conf"), "location ^~ /token/ {}\n");
    mkdirSync(path.join(target, "config/web/nginx-custom"), { recursive: true });
    writeFileSync(path.join(target, "config/web/nginx-custom/old-service.conf"), "location /old/ {}\n");
    writeFileSync(path.join(target, "config/web/keep.txt"), "data\n");
    expect(
      install(target, "stable-1", taggedCommit, { ...process.env, MANAGED_CONFIG_DIR: managed }).status,
    ).toBe(0);
    expect(readFileSync(path.join(target, "config/web/nginx-custom/token-issuer.conf"), "utf8")).toBe(
      "location ^~ /token/ {}\n",
    );
    expect(existsSync(path.join(target, "config/web/nginx-custom/old-service.conf"))).toBe(false);
    expect(readFileSync(path.join(target, "config/web/keep.txt"), "utf8")).toBe("data\n");
    // A stack without managed files (the issuer as a Worker) still loses the stale location.
    writeFileSync(path.join(target, "config/web/nginx-custom/token-issuer.conf"), "stale\n");
    const none = path.join(work, "no-managed-config");
    expect(
      install(target, "stable-1", taggedCommit, { ...process.env, MANAGED_CONFIG_DIR: none }).status,
    ).toBe(0);
    expect(existsSync(path.join(target, "config/web/nginx-custom/token-issuer.conf"))).toBe(false);
  });

  it("prints its usage when called without arguments", () => {
    const result = spawnSync("sh", [SCRIPT], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^usage: /);
  });
});
