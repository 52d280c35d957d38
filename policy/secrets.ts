import { Secret } from "@pulumi/policy";

/**
 * "No plaintext secret lands in any resource input."
 *
 * What @pulumi/policy 1.21 hands a policy (read in node_modules/@pulumi/policy): the engine sends
 * resource inputs with secrets kept (`KeepSecrets`), but `validateResource` receives them fully
 * unwrapped (deserialize.ts, `proxySecrets = false`): a secret and a plain string look the same.
 * Only `remediateResource` gets them wrapped (`proxySecrets = true`): the props proxy unwraps on
 * read, but the property descriptors still hold `Secret` instances. The engine runs the remediate
 * pass on a resource before the analyze pass (step generator), in the same pack process. So this
 * policy runs at enforcement level "remediate": its remediation changes nothing and records what it
 * found, and its validation reports it (the SDK treats "remediate" as mandatory when validating).
 *
 * Catches, in any input that did not arrive as a secret: PEM private keys; `NAME=value` or
 * `NAME: value` lines whose NAME ends in PASSWORD, SECRET, TOKEN, API_KEY or PRIVATE_KEY (as in a
 * docker-jitsi-meet `.env`); tokens with a known prefix (GitHub, Pulumi, AWS, Slack, Google, Stripe)
 * and signed JWTs; properties whose key names a secret (password, secret, token, apiKey,
 * privateKey); and Cloudflare Worker `secret_text` bindings.
 * Cannot catch: a random-looking value with no telling name or prefix (a Hetzner or Cloudflare API
 * token pasted into a description), an assigned value under 8 characters or with spaces in it (too
 * like code or prose to tell), encoded or compressed text (base64, gzip), values unknown during
 * preview (`pulumi up` checks them once known), or a secret split across inputs.
 */

/** Stands for a value that arrived as a Pulumi secret: the scan never looks inside it. */
export const SEALED = Object.freeze({ sealed: "arrived as a Pulumi secret" });

export type Revealed =
  string | number | boolean | null | typeof SEALED | Revealed[] | { [key: string]: Revealed };

export interface Finding {
  /** Where in the inputs, like `userData` or `bindings[2].text`. */
  path: string;
  /** What it looks like, never the value itself. */
  kind: string;
}

/**
 * Copies remediation props into plain data, replacing each value that arrived as a secret by
 * SEALED. Reads property descriptors, which the framework's proxies pass through to the raw
 * values, so neither the secret unwrapping nor the unknown-value check runs.
 */
export function reveal(node: unknown): Revealed {
  if (node instanceof Secret) return SEALED;
  if (node === null || node === undefined) return null;
  if (typeof node === "string" || typeof node === "number" || typeof node === "boolean") return node;
  if (typeof node !== "object") return null;
  const raw = (key: PropertyKey) => Object.getOwnPropertyDescriptor(node, key)?.value;
  if (Array.isArray(node)) return Array.from({ length: node.length }, (_, i) => reveal(raw(i)));
  // Assets, archives and anything else that is not plain data carry no inline text to scan.
  const proto = Object.getPrototypeOf(node);
  if (proto !== Object.prototype && proto !== null) return null;
  const out: { [key: string]: Revealed } = {};
  for (const key of Reflect.ownKeys(node)) {
    if (typeof key === "string") out[key] = reveal(raw(key));
  }
  return out;
}

/** Line-based shapes: each matches inside a larger string such as a cloud-init document. */
const TEXT_SHAPES: { kind: string; re: RegExp; isValue?: (value: string) => boolean }[] = [
  { kind: "a PEM private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  {
    kind: "a secret assignment",
    re: /^[ \t-]*(?:export[ \t]+)?["']?([A-Za-z_][A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEYS?|APIKEY|PRIVATE_KEY))["']?[ \t]*[=:][ \t]*("[^"\n]*"|'[^'\n]*'|[^\s#]*)/gim,
    isValue: looksLikeSecretValue,
  },
  { kind: "a GitHub token", re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/ },
  { kind: "a Pulumi access token", re: /\bpul-[0-9a-f]{40}\b/ },
  { kind: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: "a Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { kind: "a Google API key", re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: "a Stripe secret key", re: /\b[sr]k_live_[0-9A-Za-z]{20,}/ },
  { kind: "a signed JWT", re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/ },
];

/**
 * Whether the text after `NAME=` is a real value rather than empty, a reference, prose or code
 * (`JWT_APP_SECRET: "HS256 secret shared with Prosody"`, `JWT_APP_SECRET: env.JWT_APP_SECRET,`).
 * Values under 8 characters are let through: too short to tell from code.
 */
function looksLikeSecretValue(raw: string): boolean {
  const quoted = /^(["']).*\1$/.test(raw);
  const value = quoted ? raw.slice(1, -1) : raw;
  if (value.length < 8 || /\s/.test(value) || isReference(value)) return false;
  if (!quoted && /[,;()]$/.test(value)) return false;
  return !/^[A-Za-z_$][\w$]*(?:\.[\w$]+)+$/.test(value);
}

/** Property keys that name a secret, like `password`, `jwtAppSecret`, `api_key` or `JVB_AUTH_PASSWORD`. */
const SECRET_KEY_RE = /(?:password|passwd|secret|token|api_?keys?|private_?key)$/i;

/** Values that point at a secret rather than hold one: `$VAR`, `${VAR}`, `{{ secrets.X }}`, `<placeholder>`. */
function isReference(value: string): boolean {
  return /^(?:\$|\{\{|<.*>$|%\()/.test(value);
}

/** The wire protocol's sentinels for values unknown during preview. */
const UNKNOWN_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function shapesIn(text: string): string[] {
  const kinds: string[] = [];
  for (const { kind, re, isValue } of TEXT_SHAPES) {
    if (!re.global) {
      if (re.test(text)) kinds.push(kind);
      continue;
    }
    for (const match of text.matchAll(re)) {
      if (!isValue || isValue(match[2] ?? "")) {
        kinds.push(`${kind} of ${match[1]}`);
      }
    }
  }
  return kinds;
}

/** Every plaintext secret in a resource's revealed inputs; values under SEALED are never read. */
export function findPlaintextSecrets(inputs: Revealed, path = ""): Finding[] {
  if (inputs === SEALED || inputs === null) return [];
  if (typeof inputs === "string") return shapesIn(inputs).map((kind) => ({ path: path || "(value)", kind }));
  if (typeof inputs !== "object") return [];
  if (Array.isArray(inputs)) return inputs.flatMap((item, i) => findPlaintextSecrets(item, `${path}[${i}]`));
  const record = inputs as { [key: string]: Revealed };
  const findings: Finding[] = [];
  for (const [key, value] of Object.entries(record)) {
    const at = path ? `${path}.${key}` : key;
    if (typeof value === "string" && value !== "" && !UNKNOWN_RE.test(value) && !isReference(value)) {
      if (SECRET_KEY_RE.test(key)) findings.push({ path: at, kind: `a value for '${key}'` });
      else if (key === "text" && record.type === "secret_text") {
        findings.push({ path: at, kind: "the text of a secret_text binding" });
      }
    }
    findings.push(...findPlaintextSecrets(value, at));
  }
  return dedupe(findings);
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const id = `${f.path}\n${f.kind}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The one-line message for a finding: where, what, and what to do; never the value. */
export function describeFinding(finding: Finding): string {
  return (
    `${finding.path} holds ${finding.kind} in plain text; pass it through pulumi.secret() ` +
    "(or set it with `pulumi config set --secret`) so it is encrypted in state and masked in diffs"
  );
}
