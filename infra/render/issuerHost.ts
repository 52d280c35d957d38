import { stringify } from "yaml";
import type { Settings } from "../../config/schema";
import { CONTAINER_UID, ISSUER_NODE_IMAGE, VM_LAYOUT } from "../../config/versions";
import type { LockedPackage } from "./bundle";
import { issuerPlainEnv } from "./issuerEnv";

export { ISSUER_NODE_IMAGE };

/** Where the host-mode issuer lives on the VM, and its name on the compose network. */
export const ISSUER_HOST_LAYOUT = {
  dir: `${VM_LAYOUT.jitsiDir}/issuer`,
  bundle: `${VM_LAYOUT.jitsiDir}/issuer/issuer.mjs`,
  envFile: `${VM_LAYOUT.jitsiDir}/issuer/issuer.env`,
  /** The issuer's third-party packages: a manifest and lock rendered from ours, and where npm installs them. */
  packageJson: `${VM_LAYOUT.jitsiDir}/issuer/package.json`,
  packageLock: `${VM_LAYOUT.jitsiDir}/issuer/package-lock.json`,
  nodeModules: `${VM_LAYOUT.jitsiDir}/issuer/node_modules`,
  composeFile: `${VM_LAYOUT.jitsiDir}/docker-compose.issuer.yml`,
  /** Written outside the volume; the install step copies it into CONFIG/web/nginx-custom. */
  nginxConf: `${VM_LAYOUT.managedConfigDir}/web/nginx-custom/token-issuer.conf`,
  /** A drop-in for the stack's unit: creates nodeModules, owned by the container user, before compose starts. */
  unitDropIn: `/etc/systemd/system/${VM_LAYOUT.service}.d/token-issuer.conf`,
  service: "token-issuer",
  depsService: "token-issuer-deps",
  port: 8080,
} as const;

/** Both issuer containers run as the uid and gid of Jitsi's own containers, never as root. */
const CONTAINER_USER = `${CONTAINER_UID}:${CONTAINER_UID}`;
/** A copy of the lock that npm last installed completely; npm ci empties node_modules first, so a failed install leaves none. */
const INSTALLED_LOCK = "node_modules/.jitsi-stack-installed-lock.json";
/** The install the deps container runs in /deps. Compose interpolates `$` from .env, so the script has none. */
const ISSUER_DEPS_INSTALL = [
  "sh",
  "-ec",
  [
    `if cmp -s package-lock.json ${INSTALLED_LOCK}; then echo "token-issuer-deps: node_modules matches package-lock.json"; exit 0; fi`,
    "npm ci --ignore-scripts --omit=dev --no-audit --no-fund",
    `cp package-lock.json ${INSTALLED_LOCK}`,
  ].join("\n"),
] as const;

export interface IssuerHostFile {
  path: string;
  content: string;
  mode: string;
  secret?: boolean;
  /** Write it gzip-compressed in the user-data: generated text that costs more there than it saves in reading. */
  compress?: boolean;
}

export interface IssuerEnvEntry {
  name: string;
  value: string;
  secret: boolean;
}

export interface IssuerHostInput {
  settings: Settings;
  /** `bundleIssuer("node")`. */
  bundle: string;
  /** `lockedRuntimePackages()`: the packages the bundle imports, as our package-lock.json pins them. */
  runtimePackages: readonly LockedPackage[];
  /** Plain values, for the caller to render inside the secret user-data only. */
  secrets: { jwtAppSecret: string; apiKeys: string[] };
}

export interface IssuerHostRender {
  files: IssuerHostFile[];
  /** The compose override; the systemd unit runs `-f docker-compose.yml -f <composeFile>`. */
  composeFile: string;
  /** The env file the override reads; write `envEntries` there with mode 0600, inside the secret user-data. */
  envFile: string;
  envEntries: IssuerEnvEntry[];
}

/**
 * The compose override: the Node issuer on the Jitsi network, read-only, unprivileged, reachable only
 * through nginx; before it, a one-shot container that installs its packages from the rendered lock.
 */
export function issuerComposeOverride(image = ISSUER_NODE_IMAGE): Record<string, unknown> {
  const L = ISSUER_HOST_LAYOUT;
  const confined = () => ({
    image,
    read_only: true,
    user: CONTAINER_USER,
    cap_drop: ["ALL"],
    security_opt: ["no-new-privileges:true"],
  });
  return {
    services: {
      // npm checks each tarball against the lock's integrity, runs no install scripts, and writes only
      // node_modules. No restart policy: it exits when done, and on the next start skips an unchanged lock.
      // It stays on the project's default network, away from Jitsi's services: it needs only the registry.
      [L.depsService]: {
        ...confined(),
        command: [...ISSUER_DEPS_INSTALL],
        working_dir: "/deps",
        volumes: [
          `${L.packageJson}:/deps/package.json:ro`,
          `${L.packageLock}:/deps/package-lock.json:ro`,
          `${L.nodeModules}:/deps/node_modules`,
        ],
        tmpfs: ["/tmp"],
        environment: {
          HOME: "/tmp",
          npm_config_cache: "/tmp/npm-cache",
          npm_config_update_notifier: "false",
        },
      },
      [L.service]: {
        ...confined(),
        restart: "${RESTART_POLICY:-unless-stopped}",
        depends_on: { [L.depsService]: { condition: "service_completed_successfully" } },
        // A larger young generation means fewer GC pauses in the latency tail (see npm run bench:issuer).
        command: ["node", "--max-semi-space-size=32", "/app/issuer.mjs"],
        working_dir: "/app",
        volumes: [`${L.bundle}:/app/issuer.mjs:ro`, `${L.nodeModules}:/app/node_modules:ro`],
        env_file: [L.envFile],
        environment: { HOST: "0.0.0.0", PORT: String(L.port), NODE_ENV: "production" },
        expose: [String(L.port)],
        healthcheck: {
          test: [
            "CMD",
            "node",
            "-e",
            `fetch('http://127.0.0.1:${L.port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
          ],
          interval: "30s",
          timeout: "5s",
          retries: 3,
        },
        networks: { "meet.jitsi": {} },
      },
    },
  };
}

/**
 * nginx `location` for Jitsi's web container (it includes nginx-custom/*.conf in its server block).
 * The upstream is resolved per request through Docker's DNS, so nginx starts even while the issuer is down.
 */
export function issuerNginxConf(): string {
  const L = ISSUER_HOST_LAYOUT;
  return [
    "# Token issuer (jitsi-stack): POST /token/v1/token, GET /token/healthz",
    "location = /token {",
    "    return 301 /token/;",
    "}",
    // ^~: a prefix match that wins over regex locations; upstream meet.conf has a regex catch-all for
    // tenant paths (/<tenant>/<room>) that would otherwise rewrite /token/... away from the issuer.
    "location ^~ /token/ {",
    "    resolver 127.0.0.11 valid=30s ipv6=off;",
    `    set $token_issuer http://${L.service}:${L.port};`,
    "    proxy_pass $token_issuer;",
    "    proxy_http_version 1.1;",
    "    proxy_set_header Host $host;",
    // The issuer counts failed sign-ins per client; it believes this header only from private peers.
    "    proxy_set_header X-Real-IP $remote_addr;",
    "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "    proxy_set_header X-Forwarded-Proto https;",
    "    client_max_body_size 16k;",
    "    access_log off;",
    "}",
    "",
  ].join("\n");
}

/** npm's name for the VM's issuer package; it is never published. */
const DEPS_PACKAGE_NAME = "jitsi-stack-token-issuer";

/**
 * The package.json and package-lock.json `npm ci` installs from on the VM: each package at the exact
 * version, integrity (and source, when our lock records one) of our own package-lock.json.
 */
export function issuerDepsManifest(packages: readonly LockedPackage[]): {
  packageJson: string;
  packageLock: string;
} {
  const dependencies = Object.fromEntries(packages.map((p) => [p.name, p.version]));
  const packageJson = { name: DEPS_PACKAGE_NAME, private: true, dependencies };
  const packageLock = {
    name: DEPS_PACKAGE_NAME,
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: DEPS_PACKAGE_NAME, dependencies },
      ...Object.fromEntries(packages.map(({ name, ...locked }) => [`node_modules/${name}`, locked])),
    },
  };
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  return { packageJson: json(packageJson), packageLock: json(packageLock) };
}

/** Docker would create a missing bind-mount source owned by root, where the deps container (uid 1000) cannot write. */
export function issuerUnitDropIn(): string {
  const L = ISSUER_HOST_LAYOUT;
  return [
    "# Generated by jitsi-stack: the folder token-issuer-deps installs into.",
    "[Service]",
    `ExecStartPre=/usr/bin/install -d -o ${CONTAINER_UID} -g ${CONTAINER_UID} -m 0755 ${L.nodeModules}`,
    "",
  ].join("\n");
}

/** Files cloud-init writes for `issuerTarget: host`, plus the env entries the caller renders as a secret. */
export function renderIssuerHost(input: IssuerHostInput): IssuerHostRender {
  const L = ISSUER_HOST_LAYOUT;
  const plain = Object.entries(issuerPlainEnv(input.settings)).map(([name, value]) => ({
    name,
    value: value as string,
    secret: false,
  }));
  const envEntries: IssuerEnvEntry[] = [
    ...plain,
    { name: "JWT_APP_SECRET", value: input.secrets.jwtAppSecret, secret: true },
    { name: "ISSUER_API_KEYS", value: input.secrets.apiKeys.join(","), secret: true },
  ];
  for (const e of envEntries) {
    // An env file holds one NAME=value per line: a line break would split or inject a variable.
    if (/[\r\n]/.test(e.value)) throw new Error(`the issuer setting ${e.name} must not contain a line break`);
  }
  const deps = issuerDepsManifest(input.runtimePackages);
  return {
    files: [
      { path: L.bundle, content: input.bundle, mode: "0644" },
      { path: L.packageJson, content: deps.packageJson, mode: "0644" },
      { path: L.packageLock, content: deps.packageLock, mode: "0644", compress: true },
      { path: L.unitDropIn, content: issuerUnitDropIn(), mode: "0644" },
      {
        path: L.composeFile,
        content: `# Generated by jitsi-stack: the token issuer beside Jitsi.\n${stringify(issuerComposeOverride(), { lineWidth: 0 })}`,
        mode: "0644",
        compress: true,
      },
      { path: L.nginxConf, content: issuerNginxConf(), mode: "0644", compress: true },
    ],
    composeFile: L.composeFile,
    envFile: L.envFile,
    envEntries,
  };
}
