/** Resource types that are still billed (or still answer in DNS) when they outlive a teardown. */
const WATCHED_TYPES: Record<string, string> = {
  "hcloud:index/server:Server": "server (billed hourly)",
  "hcloud:index/primaryIp:PrimaryIp": "primary IP (billed while it exists)",
  "hcloud:index/floatingIp:FloatingIp": "floating IP (billed while it exists)",
  "hcloud:index/volume:Volume": "volume (billed per GB)",
  "hcloud:index/snapshot:Snapshot": "snapshot (billed per GB)",
  "hcloud:index/loadBalancer:LoadBalancer": "load balancer (billed hourly)",
  "cloudflare:index/dnsRecord:DnsRecord": "DNS record (free, but still points at the old IP)",
  "cloudflare:index/record:Record": "DNS record (free, but still points at the old IP)",
};

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  retainOnDelete?: boolean;
  protect?: boolean;
}

export interface Leftover {
  what: string;
  name: string;
  id: string;
  why: string;
}

/** The resources of a `pulumi stack export` document (an empty stack has none). */
export function stateResources(exported: unknown): StateResource[] {
  const resources = (exported as { deployment?: { resources?: unknown } } | null)?.deployment?.resources;
  return Array.isArray(resources) ? (resources as StateResource[]) : [];
}

function describe(resource: StateResource, why: string): Leftover | undefined {
  const what = WATCHED_TYPES[resource.type];
  if (!what) return undefined;
  return { what, name: resource.urn.split("::").pop() ?? resource.urn, id: resource.id ?? "?", why };
}

/**
 * What outlives `pulumi destroy`: resources marked retainOnDelete (removed from the state but kept in the
 * cloud) and anything still in the state afterwards (the destroy stopped partway).
 */
export function findLeftovers(before: StateResource[], after: StateResource[]): Leftover[] {
  const stillThere = new Set(after.map((r) => r.urn));
  const retained = before
    .filter((r) => r.retainOnDelete && !stillThere.has(r.urn))
    .map((r) => describe(r, "retainOnDelete: kept in the cloud, no longer in the stack"));
  const remaining = after.map((r) =>
    describe(
      r,
      r.protect ? "protected in the stack (pulumi state unprotect)" : "still in the stack (destroy stopped)",
    ),
  );
  return [...retained, ...remaining].filter((x): x is Leftover => x !== undefined);
}
