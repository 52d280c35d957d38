import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { REFERENCE_DIR } from "./settings";

/** The release's own compose file, which every override is layered over. */
export const BASE_COMPOSE = path.resolve(REFERENCE_DIR, "docker-compose.yml");

export type ComposeServices = Record<string, { ports?: unknown[]; [key: string]: unknown }>;

/** A published port as `docker-compose config` prints it (short or long syntax). */
export interface PublishedPort {
  hostIp: string;
  published: string;
  target: string;
  protocol: string;
}

/** The published ports of a service, in a stable order. */
export function publishedPorts(service: { ports?: unknown[] }): PublishedPort[] {
  return (service.ports ?? [])
    .map((port) => {
      if (typeof port === "object" && port !== null) {
        const p = port as Record<string, unknown>;
        return {
          hostIp: String(p.host_ip ?? ""),
          published: String(p.published ?? ""),
          target: String(p.target),
          protocol: String(p.protocol ?? "tcp"),
        };
      }
      const [spec, protocol = "tcp"] = String(port).split("/") as [string, string?];
      const parts = spec.split(":");
      const target = parts.pop()!;
      const published = parts.pop() ?? "";
      return { hostIp: parts.join(":"), published, target, protocol };
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** `docker-compose config` (Debian's docker-compose, a real validator) over the release's compose file and `files`. */
export function composeConfig(
  dir: string,
  files: string[],
  env = "CONFIG=/opt/jitsi/state/config\nHTTP_PORT=80\nHTTPS_PORT=443\n",
) {
  writeFileSync(path.join(dir, ".env"), env);
  const run = spawnSync(
    "docker-compose",
    ["--project-directory", dir, ...[BASE_COMPOSE, ...files].flatMap((f) => ["-f", f]), "config"],
    { encoding: "utf8", cwd: dir },
  );
  return {
    status: run.status,
    stderr: run.stderr,
    services: run.status === 0 ? (parse(run.stdout) as { services: ComposeServices }).services : undefined,
  };
}
