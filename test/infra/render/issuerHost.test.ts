import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { CONTAINER_UID, JITSI_RELEASE, VM_LAYOUT } from "../../../config/versions";
import { bundleIssuer, lockedRuntimePackages } from "../../../infra/render/bundle";
import { ISSUER_HOST_LAYOUT, ISSUER_NODE_IMAGE, renderIssuerHost } from "../../../infra/render/issuerHost";
import { jitsiMeetUnit, VM_SCRIPTS } from "../../../infra/render/vmUnits";
import { configFromEnv } from "../../../issuer/config";
import { checkWithPyJwt } from "../../issuer/pyjwt";
import { REFERENCE_DIR, settingsWith } from "../../helpers/settings";
import { verifySystemdUnits } from "../../helpers/systemd";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const L = ISSUER_HOST_LAYOUT;
const BASE_COMPOSE = path.join(ROOT, REFERENCE_DIR, "docker-compose.yml");
const SECRETS = { jwtAppSecret: "s".repeat(40), apiKeys: ["a".repeat(40), "b".repeat(40)] };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Compose = { services: Record<string, Record<string, any>>; networks?: Record<string, unknown> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const render = (overrides: Record<string, string> = {}, bundle = "// bundle") =>
  renderIssuerHost({
    settings: settingsWith({ issuerTarget: "host", ...overrides }),
    bundle,
    runtimePackages: lockedRuntimePackages(),
    secrets: SECRETS,
  });
const fileAt = (r: ReturnType<typeof render>, p: string) => r.files.find((f) => f.path === p)!;
const overrideOf = (r: ReturnType<typeof render>) => parse(fileAt(r, r.composeFile).content) as Compose;

describe("issuer on the VM (host target)", () => {
  it("writes the bundle, its package lock, the compose override, a unit drop-in and the nginx location, none holding a secret", () => {
    const r = render();
    expect(r.files.map((f) => f.path).sort()).toEqual(
      [L.bundle, L.packageJson, L.packageLock, L.unitDropIn, L.composeFile, L.nginxConf].sort(),
    );
    expect(L.unitDropIn).toBe("/etc/systemd/system/jitsi-meet.service.d/token-issuer.conf");
    expect(r.composeFile).toBe("/opt/jitsi/docker-compose.issuer.yml");
    expect(ISSUER_HOST_LAYOUT.nginxConf).toBe("/opt/jitsi/managed-config/web/nginx-custom/token-issuer.conf");
    const all = JSON.stringify(r.files);
    for (const s of [SECRETS.jwtAppSecret, ...SECRETS.apiKeys]) expect(all).not.toContain(s);
  });

  it("runs the issuer read-only as uid 1000 in the pinned node image, on Jitsi's network, with its env file", () => {
    const r = render();
    const override = overrideOf(r);
    const base = parse(readFileSync(BASE_COMPOSE, "utf8")) as Compose;
    const svc = override.services[ISSUER_HOST_LAYOUT.service]!;
    expect(svc.image).toBe(ISSUER_NODE_IMAGE);
    expect(ISSUER_NODE_IMAGE).toMatch(/^node:\d+\.\d+\.\d+-/);
    expect(svc).toMatchObject({ read_only: true, user: "1000:1000", env_file: [r.envFile] });
    expect(svc.volumes).toEqual([
      `${ISSUER_HOST_LAYOUT.bundle}:/app/issuer.mjs:ro`,
      `${ISSUER_HOST_LAYOUT.nodeModules}:/app/node_modules:ro`,
    ]);
    for (const net of Object.keys(svc.networks)) expect(Object.keys(base.networks ?? {})).toContain(net);
    expect(Object.keys(base.services)).not.toContain(ISSUER_HOST_LAYOUT.service);
    expect(svc.ports).toBeUndefined();
  });

  it("installs its packages first, in a one-shot container as confined as the issuer and off Jitsi's network", () => {
    const override = overrideOf(render());
    const deps = override.services[L.depsService]!;
    expect(override.services[L.service]!.depends_on).toEqual({
      [L.depsService]: { condition: "service_completed_successfully" },
    });
    expect(deps).toMatchObject({
      image: ISSUER_NODE_IMAGE,
      read_only: true,
      user: "1000:1000",
      cap_drop: ["ALL"],
      security_opt: ["no-new-privileges:true"],
      tmpfs: ["/tmp"],
    });
    // Exits when done; on the project's default network, which reaches the registry but not Prosody.
    for (const key of ["restart", "networks", "ports", "env_file"]) expect(deps).not.toHaveProperty(key);
    // It writes node_modules and nothing else of the VM's: the manifest and lock are mounted read-only.
    expect(deps.volumes.filter((v: string) => !v.endsWith(":ro"))).toEqual([
      `${L.nodeModules}:/deps/node_modules`,
    ]);
    expect(deps.command.join(" ")).toContain("npm ci --ignore-scripts --omit=dev");
    // Compose would interpolate a `$` in the command from the stack's .env.
    expect(JSON.stringify(deps.command)).not.toContain("$");
  });

  it("pins each package the bundle imports at the version and integrity of our package-lock.json", () => {
    const ours = (
      JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
        packages: Record<string, Record<string, string>>;
      }
    ).packages["node_modules/jose"]!;
    const r = render();
    const lock = JSON.parse(fileAt(r, L.packageLock).content) as {
      lockfileVersion: number;
      packages: Record<string, Record<string, unknown>>;
    };
    expect(lock.lockfileVersion).toBe(3);
    expect(Object.keys(lock.packages)).toEqual(["", "node_modules/jose"]);
    const jose = lock.packages["node_modules/jose"]!;
    expect(jose.version).toBe(ours.version);
    expect(jose.integrity).toBe(ours.integrity);
    expect(jose.integrity).toMatch(/^sha512-/);
    expect(jose.resolved).toBe(ours.resolved);
    expect(lock.packages[""]!.dependencies).toEqual({ jose: ours.version });
    expect(JSON.parse(fileAt(r, L.packageJson).content)).toMatchObject({
      dependencies: { jose: ours.version },
    });
  });

  it("creates the package folder for the install container's user before the stack starts, in a drop-in systemd accepts", () => {
    const r = render();
    const dropIn = fileAt(r, L.unitDropIn).content;
    expect(dropIn).toMatch(/^\[Service\]$/m);
    expect(dropIn).toMatch(
      new RegExp(
        `^ExecStartPre=/usr/bin/install -d -o ${CONTAINER_UID} -g ${CONTAINER_UID} -m 0755 ${L.nodeModules}$`,
        "m",
      ),
    );
    expect(overrideOf(r).services[L.depsService]!.user).toBe(`${CONTAINER_UID}:${CONTAINER_UID}`);
    // systemd reads the drop-in with the stack's unit, and accepts both.
    const work = mkdtempSync(path.join(tmpdir(), "issuer-unit-"));
    dirs.push(work);
    const dropInName = path.relative(path.dirname(path.dirname(L.unitDropIn)), L.unitDropIn);
    const units = {
      [VM_LAYOUT.service]: jitsiMeetUnit({
        domain: "meet.example.com",
        release: { tag: JITSI_RELEASE.tag, commit: JITSI_RELEASE.commit },
        stateDevice: "/dev/disk/by-id/scsi-0HC_Volume_4242",
        extraComposeFiles: [r.composeFile],
      }),
      [dropInName]: dropIn,
    };
    const commands = [...Object.values(VM_SCRIPTS).map((s) => s.path), "/usr/bin/docker", "/usr/bin/install"];
    const verified = verifySystemdUnits(work, units, commands);
    expect(verified.output).toBe("");
    expect(verified.status).toBe(0);
    // The check does read the drop-in: a misspelt key in it is reported.
    const misspelt = { [dropInName]: dropIn.replace("ExecStartPre=", "ExecStartPr=") };
    expect(verifySystemdUnits(work, { ...units, ...misspelt }, commands).output).toContain(
      "Unknown key 'ExecStartPr'",
    );
  });

  it("proxies /token/ from Jitsi's web container to the issuer service", () => {
    const conf = fileAt(render(), ISSUER_HOST_LAYOUT.nginxConf).content;
    // ^~ so upstream meet.conf's regex location for tenant paths cannot rewrite /token/... first.
    expect(conf).toMatch(/location \^~ \/token\/ \{/);
    expect(conf).toContain(`http://${ISSUER_HOST_LAYOUT.service}:${ISSUER_HOST_LAYOUT.port}`);
    // The issuer limits failed sign-ins per client address: nginx passes the TCP peer it saw.
    expect(conf).toMatch(/^\s*proxy_set_header X-Real-IP \$remote_addr;$/m);
    const braces = conf.replace(/[^{}]/g, "");
    expect(braces).toBe("{}{}");
  });

  it("gives env entries the issuer accepts, secrets marked as such", () => {
    const r = render({ issuerCorsOrigins: '["https://app.example.com"]', issuerMaxTtlSeconds: "900" });
    const secretNames = r.envEntries.filter((e) => e.secret).map((e) => e.name);
    expect(secretNames.sort()).toEqual(["ISSUER_API_KEYS", "JWT_APP_SECRET"]);
    const config = configFromEnv(Object.fromEntries(r.envEntries.map((e) => [e.name, e.value])));
    expect(config).toMatchObject({
      appId: "jitsi-stack",
      domain: "meet.example.com",
      apiKeys: SECRETS.apiKeys,
      maxTtlSeconds: 900,
      corsOrigins: ["https://app.example.com"],
    });
  });

  it("passes OIDC and room policy settings through to the issuer", () => {
    const r = render({
      issuerOidcIssuer: "https://login.example.com/",
      issuerOidcAudience: "app",
      issuerOidcJwksUrl: "https://login.example.com/jwks",
      issuerOidcModeratorGroup: "hosts",
      issuerOidcRooms: '["team-*"]',
    });
    const config = configFromEnv(Object.fromEntries(r.envEntries.map((e) => [e.name, e.value])));
    expect(config.oidc).toMatchObject({
      audience: "app",
      moderatorGroup: "hosts",
      rooms: ["team-*"],
      algorithms: ["RS256", "ES256"],
    });
  });

  // Debian's docker-compose 1.29 (test/setup/system-packages.txt): a real validator, no Docker engine needed.
  it("is a valid override of docker-jitsi-meet's compose file for docker-compose config", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "issuer-compose-"));
    dirs.push(dir);
    const r = render();
    const override = overrideOf(r);
    // `config` reads the env file, which only exists on the VM: point it at an empty one here.
    override.services[ISSUER_HOST_LAYOUT.service]!.env_file = [path.join(dir, "issuer.env")];
    writeFileSync(path.join(dir, "issuer.env"), "");
    writeFileSync(path.join(dir, "override.yml"), stringify(override));
    writeFileSync(path.join(dir, ".env"), "CONFIG=/opt/jitsi/state/config\nHTTP_PORT=80\nHTTPS_PORT=443\n");
    const run = spawnSync(
      "docker-compose",
      ["--project-directory", dir, "-f", BASE_COMPOSE, "-f", path.join(dir, "override.yml"), "config"],
      { encoding: "utf8", cwd: dir },
    );
    expect(run.stderr.split("\n").filter((l) => /ERROR/i.test(l))).toEqual([]);
    expect(run.status).toBe(0);
    const merged = parse(run.stdout) as Compose;
    expect(merged.services[ISSUER_HOST_LAYOUT.service]).toMatchObject({
      read_only: true,
      user: "1000:1000",
    });
    // The override joins the release's services rather than replacing them.
    expect(merged.services.web).toMatchObject({ image: expect.stringMatching(/\/web:/) });
  });

  it("refuses a setting with a line break rather than writing a broken env file", () => {
    expect(() =>
      renderIssuerHost({
        settings: settingsWith({ issuerTarget: "host" }),
        bundle: "",
        runtimePackages: [],
        secrets: { jwtAppSecret: "x".repeat(40), apiKeys: ["k\nINJECTED=1"] },
      }),
    ).toThrow(/ISSUER_API_KEYS must not contain a line break/);
  });
});

// The VM's two issuer containers, stood in for by folders: each volume of the override is copied (a file)
// or linked (a folder) from a stand-in of the VM's disk, and each command runs as rendered, under
// BusyBox's sh, cmp and cp as in the Alpine node image, with this machine's node and npm. npm fetches
// from the real registry.
describe("issuer on the VM: installing its packages and running with them", () => {
  const work = mkdtempSync(path.join(tmpdir(), "issuer-vm-"));
  dirs.push(work);
  const vm = path.join(work, "vm");
  const onVm = (p: string) => path.join(vm, p);
  const rendered = render({}, bundleIssuer("node"));
  const services = overrideOf(rendered).services;
  const installedLock = path.join(onVm(L.nodeModules), ".jitsi-stack-installed-lock.json");

  const bin = path.join(work, "bin");
  mkdirSync(bin);
  for (const applet of ["sh", "cmp", "cp"]) symlinkSync("/usr/bin/busybox", path.join(bin, applet));
  symlinkSync(process.execPath, path.join(bin, "node"));
  symlinkSync(
    spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim(),
    path.join(bin, "npm"),
  );

  for (const f of rendered.files) {
    mkdirSync(path.dirname(onVm(f.path)), { recursive: true });
    writeFileSync(onVm(f.path), f.content);
  }

  /**
   * A folder standing in for one service's container: file volumes copied from the VM (read-only when
   * mounted so), folder volumes linked. A writable folder is real inside the container and the VM's path
   * links to it, because npm replaces a linked node_modules where it keeps a bind mount.
   */
  function container(service: string) {
    const svc = services[service]!;
    const root = path.join(work, service);
    for (const volume of svc.volumes as string[]) {
      const [source, target, mode] = volume.split(":") as [string, string, string?];
      const inside = path.join(root, target);
      mkdirSync(path.dirname(inside), { recursive: true });
      if (rendered.files.some((f) => f.path === source)) {
        rmSync(inside, { force: true });
        copyFileSync(onVm(source), inside);
        if (mode === "ro") chmodSync(inside, 0o444);
      } else if (existsSync(inside)) {
        continue;
      } else if (mode === "ro") {
        symlinkSync(onVm(source), inside, "dir");
      } else {
        mkdirSync(inside);
        symlinkSync(inside, onVm(source), "dir");
      }
    }
    // A tmpfs starts empty on every run.
    for (const t of (svc.tmpfs ?? []) as string[]) {
      rmSync(path.join(root, t), { recursive: true, force: true });
      mkdirSync(path.join(root, t));
    }
    const inside = (value: string) => (value.startsWith("/") ? path.join(root, value) : value);
    return { svc, inside };
  }

  /** Runs token-issuer-deps' command, exactly as rendered, with its environment. */
  function installDeps() {
    const { svc, inside } = container(L.depsService);
    const outer = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const environment = Object.entries(svc.environment as Record<string, string>).map(([k, v]) => [
      k,
      inside(v),
    ]);
    const [command, ...args] = svc.command as string[];
    const run = spawnSync(path.join(bin, command!), args, {
      cwd: inside(svc.working_dir),
      env: { ...outer, ...Object.fromEntries(environment), PATH: bin },
      encoding: "utf8",
      timeout: 120_000,
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it("installs jose with the rendered npm ci, and the bundle serves /healthz and signs tokens with it", async () => {
    const install = installDeps();
    expect(install.status, install.output).toBe(0);
    const lock = JSON.parse(readFileSync(onVm(L.packageLock), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    const installed = JSON.parse(
      readFileSync(path.join(onVm(L.nodeModules), "jose", "package.json"), "utf8"),
    );
    expect(installed.version).toBe(lock.packages["node_modules/jose"]!.version);
    expect(readFileSync(installedLock, "utf8")).toBe(readFileSync(onVm(L.packageLock), "utf8"));

    const { svc, inside } = container(L.service);
    const [command, ...args] = svc.command as string[];
    expect(command).toBe("node");
    const env = Object.fromEntries(rendered.envEntries.map((e) => [e.name, e.value]));
    const child = spawn(process.execPath, args.map(inside), {
      cwd: inside(svc.working_dir),
      env: { ...svc.environment, ...env, HOST: "127.0.0.1", PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /"port":(\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.once("exit", (code) => reject(new Error(`the issuer exited ${code}: ${out}`)));
      });
      // The container's health check, then a token request as nginx forwards it (with the /token/ prefix).
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${port}/token/v1/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${SECRETS.apiKeys[0]}`, "content-type": "application/json" },
        body: JSON.stringify({ room: "vm-room", user: { name: "Vm" } }),
      });
      const body = (await res.json()) as { token: string };
      expect(res.status).toBe(200);
      expect((await checkWithPyJwt(env.JWT_APP_ID!, SECRETS.jwtAppSecret, body.token)).claims?.room).toBe(
        "vm-room",
      );
    } finally {
      child.kill("SIGTERM");
    }
  }, 180_000);

  it("skips the install while node_modules matches the lock, and reinstalls when the lock changed", () => {
    const marker = path.join(onVm(L.nodeModules), "jose", "left-by-the-last-install");
    writeFileSync(marker, "");
    const again = installDeps();
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("node_modules matches package-lock.json");
    expect(existsSync(marker)).toBe(true);

    // Same packages, other bytes: any change to the lock means a fresh install.
    const lock = readFileSync(onVm(L.packageLock), "utf8");
    writeFileSync(onVm(L.packageLock), JSON.stringify(JSON.parse(lock)) + "\n");
    const changed = installDeps();
    expect(changed.status, changed.output).toBe(0);
    expect(changed.output).not.toContain("node_modules matches package-lock.json");
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(installedLock, "utf8")).toBe(readFileSync(onVm(L.packageLock), "utf8"));
    writeFileSync(onVm(L.packageLock), lock);
  }, 180_000);

  it("refuses a package that does not match the lock's integrity, and leaves no record of an install", () => {
    const lock = readFileSync(onVm(L.packageLock), "utf8");
    const packages = (JSON.parse(lock) as { packages: Record<string, Record<string, unknown>> }).packages;
    packages["node_modules/jose"]!.integrity = `sha512-${randomBytes(64).toString("base64")}`;
    writeFileSync(onVm(L.packageLock), JSON.stringify({ ...JSON.parse(lock), packages }, null, 2) + "\n");
    try {
      const install = installDeps();
      expect(install.status).not.toBe(0);
      expect(install.output).toMatch(/EINTEGRITY/);
      // Without the record, the next start tries again instead of running on a partial node_modules.
      expect(existsSync(installedLock)).toBe(false);
    } finally {
      writeFileSync(onVm(L.packageLock), lock);
    }
  }, 180_000);
});
