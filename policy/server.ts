/** An `hcloud.Server`, as the policy sees its inputs. */
export interface ServerInputs {
  name?: string;
  deleteProtection?: boolean;
  rebuildProtection?: boolean;
  labels?: Record<string, string>;
}

const RELEASE_TAG_RE = /^stable-\d+(-\d+)?$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const ENVIRONMENTS = ["dev", "staging", "production"];

/** Inputs of a Hetzner resource that carries the stack's labels and protection flags. */
type Protectable = { labels?: Record<string, string> } & Partial<
  Record<"deleteProtection" | "rebuildProtection", boolean>
>;

/** Violations of "a production <what> has every flag in `flags` on"; a missing environment label is one too. */
function unprotectedInProduction(
  what: string,
  inputs: Protectable,
  flags: Array<"deleteProtection" | "rebuildProtection">,
): string[] {
  const environment = inputs.labels?.environment;
  if (environment === undefined || !ENVIRONMENTS.includes(environment)) {
    return [
      `label 'environment' is ${environment === undefined ? "missing" : `'${environment}'`}; ` +
        `it must be one of ${ENVIRONMENTS.join(", ")} so the policy knows whether this is production`,
    ];
  }
  if (environment !== "production") return [];
  const missing = flags.filter((flag) => inputs[flag] !== true);
  if (missing.length === 0) return [];
  return [
    `is a production ${what} without ${missing.join(" and ")}; set jitsi:deleteProtection "true" in the stack config`,
  ];
}

/** Violations of "a server in a production stack has delete and rebuild protection". */
export function unprotectedProductionServer(server: ServerInputs): string[] {
  return unprotectedInProduction("server", server, ["deleteProtection", "rebuildProtection"]);
}

/** Violations of "the state volume of a production stack has delete protection" (it outlives servers). */
export function unprotectedProductionVolume(volume: Protectable): string[] {
  return unprotectedInProduction("state volume", volume, ["deleteProtection"]);
}

/** Violations of "the Jitsi release is pinned by tag and commit" (labels jitsi-release and jitsi-commit). */
export function unpinnedRelease(server: ServerInputs): string[] {
  const tag = server.labels?.["jitsi-release"];
  const commit = server.labels?.["jitsi-commit"];
  const problems: string[] = [];
  if (tag === undefined || !RELEASE_TAG_RE.test(tag)) {
    problems.push(
      `label 'jitsi-release' is ${tag === undefined ? "missing" : `'${tag}'`}; ` +
        "it must be a docker-jitsi-meet release tag like stable-11146-2",
    );
  }
  if (commit === undefined || !COMMIT_RE.test(commit)) {
    problems.push(
      `label 'jitsi-commit' is ${commit === undefined ? "missing" : `'${commit}'`}; ` +
        "it must be the full 40-character commit the release tag resolves to",
    );
  }
  return problems;
}
