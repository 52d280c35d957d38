import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The pinned release's files, as shipped in shared/reference. */
export const RELEASE_DIR = path.resolve(
  __dirname,
  "../../../shared/reference/docker-jitsi-meet-stable-11146-2",
);

const SOURCE_DIR = path.join(__dirname, "tpl");
const BUILD_DIR = path.resolve(__dirname, "../../node_modules/.cache/jitsi-stack-tpl");
// Named after the source's hash, so an edit to main.go is never served by a stale build.
const SOURCE_HASH = createHash("sha256")
  .update(readFileSync(path.join(SOURCE_DIR, "main.go")))
  .digest("hex")
  .slice(0, 12);
const BINARY = path.join(BUILD_DIR, `tpl-${SOURCE_HASH}`);

/**
 * The path of the tests' `tpl`, built on first use from Debian's Go and sprig packages (GOPATH mode,
 * offline). It renders a template as the release's containers do; see tpl/main.go.
 */
export function tplBinary(): string {
  if (!existsSync(BINARY)) {
    mkdirSync(BUILD_DIR, { recursive: true });
    execFileSync("go", ["build", "-o", BINARY, "."], {
      cwd: SOURCE_DIR,
      env: {
        ...process.env,
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        GOCACHE: path.join(BUILD_DIR, "cache"),
        GOFLAGS: "",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
  }
  return BINARY;
}

/** The variables each compose service passes into its container, from the release's VARIABLES.tsv. */
export function variablesReceivedBy(service: string): Set<string> {
  const rows = readFileSync(path.join(RELEASE_DIR, "VARIABLES.tsv"), "utf8").trim().split("\n").slice(1);
  const received = new Set<string>();
  for (const [, rowService, variable] of rows.map((row) => row.split("\t"))) {
    if (rowService === service && variable) received.add(variable);
  }
  return received;
}

/**
 * Renders `template` (a path under the release's `<service>/rootfs/defaults/`) with the environment the
 * container would get from `env`: compose passes only the variables listed for the service, and only
 * those the `.env` sets. `extra` adds variables the image's start script exports itself.
 */
export function renderTemplate(
  service: string,
  template: string,
  env: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>> = {},
): string {
  const received = variablesReceivedBy(service);
  const containerEnv: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [name, value] of Object.entries(env)) if (received.has(name)) containerEnv[name] = value;
  Object.assign(containerEnv, extra);
  return execFileSync(tplBinary(), [path.join(RELEASE_DIR, service, "rootfs/defaults", template)], {
    env: containerEnv,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}
