import { type PlannedResource, redactForDisplay } from "./offlineEngine";

type Inputs = Record<string, unknown>;

/** What a reviewer wants to see of each resource type, in one line. */
const SUMMARIES: Record<string, (inputs: Inputs) => string> = {
  "hcloud:index/server:Server": (i) =>
    `${i.serverType} ${i.image} in ${i.location}; backups ${i.backups}; protection ${i.deleteProtection}`,
  "hcloud:index/firewall:Firewall": (i) =>
    ((i.rules as Inputs[] | undefined) ?? [])
      .map((r) => `${r.port}/${r.protocol} from ${(r.sourceIps as string[]).join(",")}`)
      .join("; "),
  "hcloud:index/primaryIp:PrimaryIp": (i) => `${i.type} in ${i.location}; autoDelete ${i.autoDelete}`,
  "hcloud:index/rdns:Rdns": (i) => `${i.ipAddress} -> ${i.dnsPtr}`,
  "hcloud:index/sshKey:SshKey": (i) =>
    String(i.publicKey).split(" ").slice(0, 1).concat(String(i.publicKey).split(" ").slice(2)).join(" "),
  "cloudflare:index/dnsRecord:DnsRecord": (i) =>
    `${i.type} ${i.name} -> ${i.content}; proxied ${i.proxied}; ttl ${i.ttl}`,
  "random:index/randomPassword:RandomPassword": (i) => `${i.length} characters (kept in state)`,
  "command:local:Command": (i) => `runs '${i.create}'`,
  "cloudflare:index/workersScript:WorkersScript": (i) => {
    const bindings = ((i.bindings as Inputs[] | undefined) ?? []).map((b) => {
      const value =
        b.type === "ratelimit" ? `${(b.simple as Inputs).limit}/${(b.simple as Inputs).period}s` : b.text;
      return `${b.name}=${typeof value === "string" ? short(value) : String(value)}`;
    });
    return `${i.scriptName}: ${String(i.content).length}-byte ES module; bindings ${bindings.join(", ")}`;
  },
  "cloudflare:index/workersCustomDomain:WorkersCustomDomain": (i) => `https://${i.hostname} -> ${i.service}`,
};

const MAX_VALUE = 60;
const short = (value: string) => (value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE - 3)}...` : value);

function summarize(resource: PlannedResource, secretValues: readonly string[]): string {
  const inputs = redactForDisplay(resource.inputs, secretValues) as Inputs;
  const custom = SUMMARIES[resource.type];
  if (custom) return custom(inputs);
  return Object.entries(inputs)
    .filter(([, v]) => typeof v !== "object" || v === null)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${short(String(v))}`)
    .join(" ");
}

/** A fixed-width table of the resources, for the terminal. */
export function formatPlanTable(
  resources: readonly PlannedResource[],
  secretValues: readonly string[],
): string {
  const rows = resources.map((r) => [
    r.type.replace(/^(\w+):.*:(\w+)$/, "$1:$2"),
    r.name,
    summarize(r, secretValues),
  ]);
  const header = ["TYPE", "NAME", "KEY SETTINGS"];
  const widths = [0, 1].map((c) => Math.max(header[c]!.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell)).join("  ");
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w)).concat("-".repeat(12))),
    ...rows.map(line),
  ].join("\n");
}
