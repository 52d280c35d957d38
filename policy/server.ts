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

/** Violations of "a server in a production stack has delete and rebuild protection". */
export function unprotectedProductionServer(server: ServerInputs): string[] {
  const environment = server.labels?.environment;
  if (environment === undefined || !ENVIRONMENTS.includes(environment)) {
    return [
      `label 'environment' is ${environment === undefined ? "missing" : `'${environment}'`}; ` +
        `it must be one of ${ENVIRONMENTS.join(", ")} so the policy knows whether this is production`,
    ];
  }
  if (environment !== "production") return [];
  const missing = [
    server.deleteProtection === true ? undefined : "deleteProtection",
    server.rebuildProtection === true ? undefined : "rebuildProtection",
  ].filter(Boolean);
  if (missing.length === 0) return [];
  return [
    `is a production server without ${missing.join(" and ")}; ` +
      'set jitsi:deleteProtection "true" in the stack config',
  ];
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
