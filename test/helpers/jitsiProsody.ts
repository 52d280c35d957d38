import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { client, type Client } from "@xmpp/client";
import type { EnvEntry } from "../../infra/render/jitsiEnv";
import { websocketUrl, type XmppTarget } from "../../scripts/lib/verify/xmpp";
import { runCommand } from "./command";
import { type Daemon, freePort, startDaemon } from "./daemon";
import { type Focus, startFocus } from "./jitsiFocus";
import { RELEASE_DIR, renderTemplate, variablesReceivedBy } from "./tpl";

/**
 * Debian's Prosody 0.12 configured by the pinned release's own prosody templates from a rendered `.env`,
 * with Jitsi's Prosody modules, on 127.0.0.1: the XMPP side of a live stack, for tests.
 *
 *   const prosody = await startJitsiProsody(envMap(jitsiEnvEntries(...)));
 *   await tryJoin(prosody.target, { room, token, ... });   // focus answers and opens the room, as jicofo does
 *   await prosody.stop();
 *
 * How the configuration is made:
 *  1. `containerEnv`: only the variables compose passes into the prosody container (VARIABLES.tsv).
 *  2. `scriptExports`: what the release's start script (`etc/s6-overlay/scripts/config`) exports before it
 *     runs `tpl`, found by running that script's lines up to the `tpl` call under bash with every
 *     external command stubbed out.
 *  3. `tpl` renders `prosody.cfg.lua` and the site file the script chose, as the container does.
 *  4. `loopbackOverrides()`: the only changes, each with its reason; every one must match, or the start
 *     fails (and test/helpers/jitsiProsody.test.ts names the one that drifted). Outside the files,
 *     Prosody runs with `PROSODY_ENV` (Lua path for two Debian libraries).
 *  5. The focus and jvb accounts and focus's roster subscription are made as the release's
 *     `register-setup` makes them, in the Prosody < 13 way (see below).
 */

/** Jitsi's Prosody modules (the jitsi-meet-prosody package) as shipped in shared/reference. */
export const JITSI_PLUGINS_DIR = path.resolve(
  __dirname,
  "../../../shared/reference/jitsi-meet-prosody-plugins-223e6f09",
);
/** The prosody image adds its own few modules (mod_http_health, ...) to /prosody-plugins. */
export const IMAGE_PLUGINS_DIR = path.join(RELEASE_DIR, "prosody/rootfs/prosody-plugins");
const START_SCRIPT = path.join(RELEASE_DIR, "prosody/rootfs/etc/s6-overlay/scripts/config");

export type EnvMap = Readonly<Record<string, string>>;

/** The `.env` entries as name -> value, as compose reads the file. */
export function envMap(entries: readonly EnvEntry[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => [e.name, e.value]));
}

/** The environment compose gives the prosody container: only the variables it lists for the service. */
export function containerEnv(env: EnvMap): Record<string, string> {
  const received = variablesReceivedBy("prosody");
  return Object.fromEntries(Object.entries(env).filter(([name]) => received.has(name)));
}

/** Variables bash sets by itself, and the ones the stub run below adds. */
const SHELL_OWN = new Set(["PWD", "OLDPWD", "SHLVL", "_", "PATH", "TPL_DUMP"]);
/** The line of the start script that renders the main config; everything before it decides the environment. */
const TPL_LINE = "tpl /defaults/prosody.cfg.lua > $PROSODY_CFG";
const SITE_TPL_LINE = "tpl /defaults/conf.d/$PROSODY_SITE_CFG > /run/prosody/config/conf.d/$PROSODY_SITE_CFG";

/**
 * Runs the release's start script up to its `tpl` lines (external commands replaced by no-op functions,
 * PATH emptied so nothing else can run) and returns what it exports for the templates and which site
 * template it chose. Only client mode with a non-LDAP auth is supported: the LDAP branch writes into /run.
 */
export function scriptExports(env: EnvMap): { extra: Record<string, string>; siteTemplate: string } {
  const inside = containerEnv(env);
  if (inside.AUTH_TYPE === "ldap")
    throw new Error("jitsiProsody: AUTH_TYPE=ldap (saslauthd) is not emulated");
  if (inside.PROSODY_MODE && inside.PROSODY_MODE !== "client") {
    throw new Error(`jitsiProsody: only PROSODY_MODE=client is emulated (got '${inside.PROSODY_MODE}')`);
  }
  const lines = readFileSync(START_SCRIPT, "utf8").split("\n");
  const at = lines.indexOf(TPL_LINE);
  if (at < 0 || lines[at + 1] !== SITE_TPL_LINE) {
    throw new Error(`jitsiProsody: ${START_SCRIPT} no longer renders its templates with '${TPL_LINE}'`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-prosody-script-"));
  try {
    const dump = path.join(dir, "env");
    const stubs = ["check-writable", "mkdir", "cp", "mv", "rm", "ls", "prosodyctl", "tpl"]
      .map((name) => `${name}() { :; }`)
      .join("\n");
    const script = [
      stubs,
      ...lines.slice(1, at),
      'printf "%s" "$PROSODY_SITE_CFG" > "$TPL_DUMP.site"',
      '/usr/bin/env -0 > "$TPL_DUMP"',
    ].join("\n");
    execFileSync("/bin/bash", ["-s"], {
      input: script,
      cwd: dir,
      env: { ...inside, PATH: "/nonexistent", TPL_DUMP: dump },
      stdio: ["pipe", "ignore", "pipe"],
    });
    const seen = Object.fromEntries(
      readFileSync(dump, "utf8")
        .split("\0")
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
    );
    const extra = Object.fromEntries(
      Object.entries(seen).filter(([name, value]) => !SHELL_OWN.has(name) && inside[name] !== value),
    );
    return { extra, siteTemplate: readFileSync(`${dump}.site`, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const MAIN_CONFIG = "prosody.cfg.lua";

/** Where the test's Prosody keeps what the container keeps under /run and /var/lib. */
export interface LoopbackPaths {
  dir: string;
  httpPort: number;
  c2sPort: number;
}

/**
 * One change to the rendered configuration. `from` must occur in the rendered file (exactly
 * `count` times, default 1); `to` replaces it. Appended settings use `from: END`.
 */
export interface Override {
  file: string;
  why: string;
  from: string;
  to: string;
  count?: number;
}
export const END = "<end of file>";

/** Components of the site template whose module Debian's Prosody 0.12 cannot load: [subdomain, module]. */
const PROSODY_13_ONLY = [
  ["speakerstats", "speakerstats_component"],
  ["metadata", "room_metadata_component"],
] as const;

/**
 * Debian ships lua-basexx and lua-inspect (pure Lua, required by Jitsi's token library) only for Lua
 * 5.1-5.3, while its Prosody runs on 5.4: they are found after Lua's own path.
 */
export const PROSODY_ENV = { ...process.env, LUA_PATH: ";;/usr/share/lua/5.1/?.lua" };

/**
 * Every change from the release's rendered configuration, each with its reason. Nothing else differs.
 * Components whose module Debian's Prosody 0.12 cannot load are switched off here (PROSODY_13_ONLY);
 * every other module the configuration enables must load (checked by jitsiProsody.test.ts).
 */
export function loopbackOverrides(site: string, domain: string, p: LoopbackPaths): Override[] {
  const lua = (value: string) => JSON.stringify(value);
  const certs = path.join(p.dir, "certs");
  return [
    {
      file: MAIN_CONFIG,
      why: "the image's pidfile lives under /run",
      from: 'pidfile = "/run/prosody/prosody.pid";',
      to: `pidfile = ${lua(path.join(p.dir, "prosody.pid"))};`,
    },
    {
      file: MAIN_CONFIG,
      why: "a free port on loopback instead of 5222 on every interface",
      from: "c2s_ports = { 5222 }",
      to: `c2s_ports = { ${p.c2sPort} }`,
    },
    {
      file: MAIN_CONFIG,
      why: "loopback only",
      from: 'c2s_interfaces = { "*", "::" }',
      to: 'c2s_interfaces = { "127.0.0.1" }',
    },
    {
      file: MAIN_CONFIG,
      why: "a free port on loopback instead of 5280 on every interface",
      from: "http_ports = { 5280 }",
      to: `http_ports = { ${p.httpPort} }`,
    },
    {
      file: MAIN_CONFIG,
      why: "loopback only",
      from: 'http_interfaces = { "*", "::" }',
      to: 'http_interfaces = { "127.0.0.1" }',
    },
    {
      file: MAIN_CONFIG,
      why: "the data volume is a throwaway folder",
      from: 'data_path = "/var/lib/prosody/data"',
      to: `data_path = ${lua(path.join(p.dir, "data"))}`,
    },
    {
      file: MAIN_CONFIG,
      why: "the log goes to a file the tests can read (the container logs to its console)",
      from: 'timestamps = "%Y-%m-%d %X", to = "console"',
      to: `timestamps = "%Y-%m-%d %X", to = "file", filename = ${lua(path.join(p.dir, "prosody.log"))}`,
    },
    {
      file: MAIN_CONFIG,
      why: "CI runs the tests as root; the container runs Prosody as uid 1000",
      from: END,
      to: "run_as_root = true",
    },
    {
      file: site,
      why: "the image's module folders, as shipped in shared/reference (no custom or contrib modules are used)",
      from: 'plugin_paths = { "/prosody-plugins-custom", "/prosody-plugins/", "/prosody-plugins-contrib" }',
      to: `plugin_paths = { ${lua(IMAGE_PLUGINS_DIR)}, ${lua(JITSI_PLUGINS_DIR)} }`,
    },
    ...PROSODY_13_ONLY.map(([component, module]) => ({
      file: site,
      why: `mod_${module} needs Prosody 13 (it requires prosody.util.*, which 0.12 names util.*)`,
      from: `Component "${component}.${domain}" "${module}"\n`,
      to: `Component "${component}.${domain}" "${module}"\n    enabled = false\n`,
    })),
    {
      file: site,
      why: "certificates generated for this run, as the start script does under /run",
      from: "/run/prosody/config/certs/",
      to: `${certs}/`,
      count: 4,
    },
  ];
}

/** Applies the overrides; throws naming the first one that no longer matches the rendered file. */
export function applyOverrides(files: Record<string, string>, overrides: readonly Override[]) {
  const out = { ...files };
  for (const o of overrides) {
    const text = out[o.file];
    if (text === undefined) throw new Error(`override for unknown file ${o.file}`);
    if (o.from === END) {
      out[o.file] = `${text}\n-- jitsi-stack test override: ${o.why}\n${o.to}\n`;
      continue;
    }
    const found = text.split(o.from).length - 1;
    if (found !== (o.count ?? 1)) {
      throw new Error(
        `override "${o.why}" expects ${o.count ?? 1} × '${o.from}' in ${o.file} but found ${found}: the release template changed`,
      );
    }
    out[o.file] = text.split(o.from).join(o.to);
  }
  return out;
}

/** The two files exactly as the release's container would render them from `env`. */
export function renderReleaseConfig(env: EnvMap): Record<string, string> {
  const { extra, siteTemplate } = scriptExports(env);
  return {
    [MAIN_CONFIG]: renderTemplate("prosody", MAIN_CONFIG, env, extra),
    [`conf.d/${siteTemplate}`]: renderTemplate("prosody", `conf.d/${siteTemplate}`, env, extra),
  };
}

/** A variable's value as the prosody templates read it, with their default. */
function setting(env: EnvMap, name: string, fallback: string): string {
  return containerEnv(env)[name] || fallback;
}

export interface JitsiProsody {
  /** ws://127.0.0.1:<port>/xmpp-websocket: what the web container proxies /xmpp-websocket to. */
  url: string;
  httpPort: number;
  c2sPort: number;
  domain: string;
  authDomain: string;
  mucDomain: string;
  /** Set only when the rendered config has the guest VirtualHost (ENABLE_AUTH and ENABLE_GUESTS). */
  guestDomain?: string;
  /** Set only when the lobby component is on (ENABLE_LOBBY). */
  lobbyDomain?: string;
  /** focus.<domain>: the component clients ask to open a room (client_proxy to focus@<authDomain>). */
  focusComponent: string;
  /** What Jitsi's web client uses: the websocket, the domains, and focus to ask for the room. */
  target: XmppTarget;
  /** The jicofo stand-in, logged in as focus@<authDomain> with JICOFO_AUTH_PASSWORD. */
  focus: Focus;
  /** The configuration files as Prosody runs them (after the overrides). */
  config: Record<string, string>;
  /** Prosody's log so far. */
  log(): string;
  /** The modules loaded on one host or component, read from the running server. */
  loadedModules(host: string): string[];
  /** `prosodyctl shell ...` against the running server; returns what it printed. */
  shell(...args: string[]): string;
  /**
   * Modules a host's configuration enables (for a VirtualHost with the global list, minus
   * modules_disabled) that the running server has not loaded, read through Prosody's own config parser.
   */
  missingModules(host: string): string[];
  /** `missingModules` of every host and component the running server serves, read at once. */
  missingModulesByHost(): Record<string, string[]>;
  /** Every host and component the running server serves. */
  hosts(): string[];
  stop(): Promise<void>;
}

/**
 * `prosodyctl --config <the server's config> ...args` with `input` on its standard input, run without
 * blocking the test process (a start runs five of them, while concurrent tests wait on their timers).
 */
type Prosodyctl = (stdin: { input: string }, ...args: string[]) => Promise<void>;

/**
 * RSA keys made by `prosodyctl cert generate`, by host name, kept for every later run: in this process,
 * and in a folder that the other test workers (and later runs) read. Test keys only.
 */
const generatedKeys = new Map<string, Buffer>();
const KEY_CACHE = path.join(
  __dirname,
  "..",
  "..",
  "node_modules",
  ".cache",
  "jitsi-stack-test",
  "prosody-keys",
);

function cachedKey(host: string): Buffer | undefined {
  let key = generatedKeys.get(host);
  if (key === undefined && existsSync(path.join(KEY_CACHE, `${host}.key`))) {
    key = readFileSync(path.join(KEY_CACHE, `${host}.key`));
    generatedKeys.set(host, key);
  }
  return key;
}

function keepKey(host: string, key: Buffer): void {
  generatedKeys.set(host, key);
  try {
    mkdirSync(KEY_CACHE, { recursive: true });
    // Written whole, then renamed: another worker may read it at any moment.
    const partial = path.join(KEY_CACHE, `${host}.key.${process.pid}.tmp`);
    writeFileSync(partial, key, { mode: 0o600 });
    renameSync(partial, path.join(KEY_CACHE, `${host}.key`));
  } catch {
    // A read-only checkout only loses the cache.
  }
}

/**
 * `prosodyctl cert generate <host>` into `certs`, as the start script runs it ("echo | prosodyctl ...").
 * Most of its time is openssl making a fresh 2048-bit RSA key (0.2 to 1.3 s: a prime search; 16 of them
 * were 5 s of a run's CPU), so a key made once for a host is laid in `certs` before later runs, which
 * are told to keep it (the "exists, do you want to replace it? [y/n]" prompt, answered "n"; the
 * script's empty answer would mean yes). The certificate config and the self-signed certificate are
 * still written by `cert generate` from this server's own configuration.
 */
async function generateCertificate(prosodyctl: Prosodyctl, certs: string, host: string) {
  const keyFile = path.join(certs, `${host}.key`);
  const key = cachedKey(host);
  if (key) writeFileSync(keyFile, key, { mode: 0o400 });
  await prosodyctl({ input: key ? "n\n" : "\n" }, "cert", "generate", host);
  if (!existsSync(path.join(certs, `${host}.crt`)))
    throw new Error(`jitsiProsody: prosodyctl cert generate ${host} wrote no certificate`);
  if (!key) keepKey(host, readFileSync(keyFile));
}

/**
 * Run in the server's admin shell: for "*" and every host it serves, the host's own modules_enabled and
 * modules_disabled (rawget, through Prosody's own config parser), whether it is a component, and the
 * modules loaded on it, as JSON. One shell call instead of three per host: each costs a Lua start.
 */
const MODULE_STATE_LUA = [
  '>local cm, mm = require"core.configmanager", require"core.modulemanager";',
  "local function state(name, host)",
  "  local loaded = {}; for m in pairs(mm.get_modules(name)) do loaded[#loaded + 1] = m end;",
  '  return { component = host ~= nil and host.type == "component",',
  '    enabled = cm.rawget(name, "modules_enabled") or {}, disabled = cm.rawget(name, "modules_disabled") or {},',
  "    loaded = loaded } end;",
  'local out = { ["*"] = state("*") }; for name, host in pairs(prosody.hosts) do out[name] = state(name, host) end;',
  'return require"util.json".encode(out)',
].join(" ");

/**
 * Starts Prosody from a rendered `.env` (name -> value, e.g. `envMap(jitsiEnvEntries(...))`), registers
 * focus and jvb, and logs the jicofo stand-in in. Add entries to the map to try other variables, e.g.
 * `startJitsiProsody({ ...renderedEnv(), TURN_HOST: "turn.example.com", TURN_CREDENTIALS: "s3cret" })`.
 */
export async function startJitsiProsody(env: EnvMap): Promise<JitsiProsody> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-prosody-"));
  if (!/^[\w/.-]+$/.test(dir)) throw new Error(`unexpected characters in ${dir}`);
  let daemon: Daemon | undefined;
  let focus: Focus | undefined;
  try {
    const [httpPort, c2sPort] = [await freePort(), await freePort()];
    const released = renderReleaseConfig(env);
    const site = Object.keys(released).find((f) => f !== MAIN_CONFIG)!;
    const domain = setting(env, "XMPP_DOMAIN", "meet.jitsi");
    const config = applyOverrides(released, loopbackOverrides(site, domain, { dir, httpPort, c2sPort }));
    mkdirSync(path.join(dir, "conf.d"));
    mkdirSync(path.join(dir, "data"));
    mkdirSync(path.join(dir, "certs"));
    for (const [file, text] of Object.entries(config)) writeFileSync(path.join(dir, file), text);
    const configFile = path.join(dir, MAIN_CONFIG);
    const setup: Prosodyctl = async ({ input }, ...args) => {
      const done = await runCommand("prosodyctl", ["--config", configFile, ...args], {
        input,
        env: PROSODY_ENV,
      });
      if (done.status !== 0)
        throw new Error(`prosodyctl ${args.join(" ")} failed (${done.status}): ${done.stderr}${done.stdout}`);
    };
    // Queries of the running server, for the tests.
    const prosodyctl = (...args: string[]) =>
      execFileSync("prosodyctl", ["--config", configFile, ...args], {
        encoding: "utf8",
        input: "\n",
        env: PROSODY_ENV,
        stdio: ["pipe", "pipe", "pipe"],
      });
    const authDomain = setting(env, "XMPP_AUTH_DOMAIN", "auth.meet.jitsi");
    const mucDomain = setting(env, "XMPP_MUC_DOMAIN", "muc.meet.jitsi");
    // The start script: "echo | prosodyctl --config $PROSODY_CFG cert generate <domain>" for both domains.
    // Prosody 13 writes them to the data folder and the script moves them to certs/; 0.12 writes them to
    // certs/ beside the config directly.
    for (const host of [domain, authDomain]) await generateCertificate(setup, path.join(dir, "certs"), host);

    // The release's register-setup creates the focus and jvb accounts and subscribes focus.<domain> to
    // focus's presence (client_proxy forwards only to focus sessions it sees) through Prosody 13's
    // `prosodyctl shell` once the server runs. Prosody 0.12 has no roster shell command, and a second
    // process editing the roster of a running server races it; so this is done as docker-jitsi-meet did
    // for Prosody < 13: `prosodyctl register` and Jitsi's mod_roster_command, before the start.
    const inside = containerEnv(env);
    const jvbUser = inside.JVB_AUTH_USER || "jvb";
    const noInput = { input: "\n" };
    await setup(noInput, "register", "focus", authDomain, requireSecret(inside, "JICOFO_AUTH_PASSWORD"));
    await setup(noInput, "register", jvbUser, authDomain, requireSecret(inside, "JVB_AUTH_PASSWORD"));
    await setup(noInput, "mod_roster_command", "subscribe", `focus.${domain}`, `focus@${authDomain}`);

    daemon = await startDaemon("prosody", "prosody", ["--config", configFile, "-F"], httpPort, PROSODY_ENV);

    const loadedModules = (host: string) =>
      prosodyctl("shell", "module", "list", host)
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => /^[\w-]+$/.test(line));
    const hosts = () =>
      prosodyctl("shell", "host:list()")
        .split("\n")
        .map((line) => line.trim().split(" ")[0]!)
        .filter((name) => /^[\w-]+(\.[\w-]+)+$/.test(name));

    const missingModulesByHost = () => {
      const state = JSON.parse(prosodyctl("shell", MODULE_STATE_LUA).replace(/^Result: /, "")) as Record<
        string,
        { component: boolean; enabled: unknown; disabled: unknown; loaded: unknown }
      >;
      // util.json writes an empty Lua table as {}.
      const list = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
      const global = state["*"]!;
      return Object.fromEntries(
        Object.entries(state)
          .filter(([host]) => host !== "*")
          .map(([host, own]) => {
            const disabled = new Set([...list(global.disabled), ...list(own.disabled)]);
            const loaded = new Set([...list(own.loaded), ...list(global.loaded)]);
            // Components do not inherit the global module list.
            const wanted = [...list(own.enabled), ...(own.component ? [] : list(global.enabled))];
            return [host, [...new Set(wanted)].filter((m) => !disabled.has(m) && !loaded.has(m)).sort()];
          }),
      );
    };

    const url = `ws://127.0.0.1:${httpPort}/xmpp-websocket`;
    const rendered = Object.values(config).join("\n");
    const guestDomain = rendered.includes(
      `VirtualHost "${setting(env, "XMPP_GUEST_DOMAIN", "guest.meet.jitsi")}"`,
    )
      ? setting(env, "XMPP_GUEST_DOMAIN", "guest.meet.jitsi")
      : undefined;
    const lobbyDomain = rendered.includes(`Component "lobby.${domain}" "muc"`)
      ? `lobby.${domain}`
      : undefined;
    focus = await startFocus({
      url,
      authDomain,
      mucDomain,
      password: requireSecret(inside, "JICOFO_AUTH_PASSWORD"),
    });
    const running = daemon;
    const started = focus;
    return {
      url,
      httpPort,
      c2sPort,
      domain,
      authDomain,
      mucDomain,
      guestDomain,
      lobbyDomain,
      focusComponent: `focus.${domain}`,
      target: { url, domain, mucDomain, focus: `focus.${domain}` },
      focus: started,
      config,
      log: () => readFileSync(path.join(dir, "prosody.log"), "utf8"),
      shell: (...args: string[]) => prosodyctl("shell", ...args),
      loadedModules,
      hosts,
      missingModulesByHost,
      missingModules(host: string) {
        const missing = missingModulesByHost()[host];
        if (!missing) throw new Error(`jitsiProsody: the server does not serve ${host}`);
        return missing;
      },
      async stop() {
        await started.stop();
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await focus?.stop().catch(() => undefined);
    await daemon?.stop();
    const log = (() => {
      try {
        return readFileSync(path.join(dir, "prosody.log"), "utf8")
          .split("\n")
          .filter((l) => /error/i.test(l))
          .slice(-10)
          .join("\n");
      } catch {
        return "";
      }
    })();
    rmSync(dir, { recursive: true, force: true });
    if (log) (error as Error).message += `\nProsody's log:\n${log}`;
    throw error;
  }
}

function requireSecret(inside: EnvMap, name: string): string {
  const value = inside[name];
  // The start script stops with "FATAL ERROR: ... password must be set" without it.
  if (!value)
    throw new Error(`jitsiProsody: ${name} is not set in the .env; the prosody container would stop`);
  return value;
}

/**
 * A logged-in session as Jitsi's web client opens one (SASL ANONYMOUS, the token in the websocket URL),
 * for queries a test sends itself, e.g. XEP-0215 external services:
 *   const session = await clientSession(prosody.target, { room: "r", token });
 *   await session.iqCaller.request(xml("iq", { type: "get", to: prosody.domain },
 *     xml("services", { xmlns: "urn:xmpp:extdisco:2" })));
 *   await session.stop();
 */
export async function clientSession(
  target: XmppTarget,
  options: { room: string; token?: string; domain?: string },
): Promise<Client> {
  const session = client({
    service: websocketUrl(target.url, options.room, options.token),
    domain: options.domain ?? target.domain,
    resource: "test",
  });
  session.reconnect.stop();
  session.on("error", () => undefined);
  await session.start();
  return session;
}
