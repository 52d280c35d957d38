import { stringify } from "yaml";
import type { Settings } from "../../config/schema";
import { ISSUER_NODE_IMAGE, VM_LAYOUT } from "../../config/versions";
import { issuerPlainEnv } from "./issuerEnv";

export { ISSUER_NODE_IMAGE };

/** Where the host-mode issuer lives on the VM, and its name on the compose network. */
export const ISSUER_HOST_LAYOUT = {
  dir: `${VM_LAYOUT.jitsiDir}/issuer`,
  bundle: `${VM_LAYOUT.jitsiDir}/issuer/issuer.mjs`,
  envFile: `${VM_LAYOUT.jitsiDir}/issuer/issuer.env`,
  composeFile: `${VM_LAYOUT.jitsiDir}/docker-compose.issuer.yml`,
  /** Written outside the volume; the install step copies it into CONFIG/web/nginx-custom. */
  nginxConf: `${VM_LAYOUT.managedConfigDir}/web/nginx-custom/token-issuer.conf`,
  service: "token-issuer",
  port: 8080,
} as const;

export interface IssuerHostFile {
  path: string;
  content: string;
  mode: string;
  secret?: boolean;
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

/** The compose override: the Node issuer on the Jitsi network, read-only, unprivileged, reachable only through nginx. */
export function issuerComposeOverride(image = ISSUER_NODE_IMAGE): Record<string, unknown> {
  const L = ISSUER_HOST_LAYOUT;
  return {
    services: {
      [L.service]: {
        image,
        restart: "${RESTART_POLICY:-unless-stopped}",
        read_only: true,
        user: "1000:1000",
        cap_drop: ["ALL"],
        security_opt: ["no-new-privileges:true"],
        // A larger young generation means fewer GC pauses in the latency tail (see npm run bench:issuer).
        command: ["node", "--max-semi-space-size=32", "/app/issuer.mjs"],
        working_dir: "/app",
        volumes: [`${L.bundle}:/app/issuer.mjs:ro`],
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
  return {
    files: [
      { path: L.bundle, content: input.bundle, mode: "0644" },
      {
        path: L.composeFile,
        content: `# Generated by jitsi-stack: the token issuer beside Jitsi.\n${stringify(issuerComposeOverride())}`,
        mode: "0644",
      },
      { path: L.nginxConf, content: issuerNginxConf(), mode: "0644" },
    ],
    composeFile: L.composeFile,
    envFile: L.envFile,
    envEntries,
  };
}
