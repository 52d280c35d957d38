import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../shared/stackConfig";

/**
 * Runs the real Pulumi program under Pulumi's mock engine (`pulumi.runtime.setMocks`): no CLI,
 * no credentials, no network. Records every resource with its inputs, keeping Pulumi's own secret
 * markers, and answers with plausible provider outputs (documentation-range IPs, fake ids).
 */

/** How the SDK marks a secret value on the wire; the mock engine receives secret inputs wrapped in it. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export const REDACTED = "[secret]";

export interface PlannedResource {
  type: string;
  name: string;
  /** Inputs as the program declared them; secret values still wrapped (see `isSecretValue`). */
  inputs: Record<string, unknown>;
  /** The id the mock engine gave it. */
  id: string;
  /** Names of the resources it waits for, as the SDK sent them to the engine (explicit and from inputs). */
  dependsOn: string[];
}

export interface OfflineRun {
  project: string;
  stack: string;
  resources: PlannedResource[];
  /** The component resources (`jitsi-stack:<area>:<Name>`) that group them, in declaration order. */
  components: { type: string; name: string }[];
  /** Stack outputs, resolved; secret ones wrapped like inputs. */
  outputs: Record<string, unknown>;
  /** Every plain-text secret the run produced or was given: what redaction must remove. */
  secretValues: string[];
}

export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** Replaces every secret-marked value with "[secret]", at any depth. */
export function redactSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return REDACTED;
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

/**
 * What render shows of an input. A secret leaf is "[secret]". A secret list or map is opened: Pulumi
 * marks a whole list secret when one item holds a secret (the Worker's bindings), which would hide the
 * app id, CORS origins and rate limit beside the keys. Inside it, every string that holds a known secret
 * value (`secretValues`) is "[secret]", and so is each `text` of a `secret_text` binding.
 */
export function redactForDisplay(value: unknown, secretValues: readonly string[]): unknown {
  if (isSecretValue(value)) {
    const inner = revealSecrets(value.value);
    if (inner === null || typeof inner !== "object") return REDACTED;
    return blankSecrets(inner, secretValues);
  }
  if (Array.isArray(value)) return value.map((v) => redactForDisplay(v, secretValues));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactForDisplay(v, secretValues)]));
  }
  return value;
}

function blankSecrets(value: unknown, secretValues: readonly string[]): unknown {
  if (typeof value === "string") return redactText(value, secretValues) === value ? value : REDACTED;
  if (Array.isArray(value)) return value.map((v) => blankSecrets(v, secretValues));
  if (value && typeof value === "object") {
    const secretBinding = (value as Record<string, unknown>).type === "secret_text";
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        secretBinding && k === "text" ? REDACTED : blankSecrets(v, secretValues),
      ]),
    );
  }
  return value;
}

/** Removes secret markers, keeping the values (what a provider would receive). */
export function revealSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return revealSecrets(value.value);
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
  }
  return value;
}

/** Replaces each known secret's text with "[secret]" inside a rendered document. */
export function redactText(text: string, secretValues: readonly string[]): string {
  return [...secretValues]
    .filter((s) => s.length >= 8)
    .sort((a, b) => b.length - a.length)
    .reduce((acc, secret) => acc.split(secret).join(REDACTED), text);
}

/** Provider outputs that hold generated secrets (the providers mark them secret in a real run). */
const GENERATED_SECRETS: Record<string, string[]> = {
  "random:index/randomPassword:RandomPassword": ["result"],
  "tls:index/privateKey:PrivateKey": ["privateKeyOpenssh"],
};

function fakeOutputs(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  serial: number,
): Record<string, unknown> {
  const digest = createHash("sha256").update(`${type}/${name}`).digest("hex");
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock${digest.slice(0, Number(inputs.length ?? 32) - 4)}` };
    case "hcloud:index/primaryIp:PrimaryIp":
      return inputs.type === "ipv6"
        ? { ipAddress: "2001:db8:4a1:7e00::", ipNetwork: "2001:db8:4a1:7e00::/64" }
        : { ipAddress: `203.0.113.${10 + (serial % 200)}` };
    case "hcloud:index/server:Server":
      return { ipv4Address: "203.0.113.10", ipv6Address: "2001:db8:4a1:7e00::1", status: "running" };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyOpenssh: `mock-private-key-${digest.slice(0, 40)}`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${Buffer.from(digest.slice(0, 24)).toString("base64")}\n`,
      };
    case "command:local:Command":
      return { stdout: "ready (offline render)", stderr: "" };
    default:
      return {};
  }
}

/** Imports the program's entry module; it returns the stack outputs (the module's exports). */
export type ProgramLoader = () => Promise<Record<string, unknown>> | Record<string, unknown>;

/**
 * Loads the program under mocks with the given config and waits for every resource registration.
 * `load` imports the program's entry module (a fresh copy: callers reset their module registry).
 */
export async function runOffline(options: {
  project: string;
  stack: string;
  stackConfig: StackConfig;
  load: ProgramLoader;
}): Promise<OfflineRun> {
  const resources: PlannedResource[] = [];
  const components: OfflineRun["components"] = [];
  const secretValues = new Set<string>();
  for (const key of options.stackConfig.secretKeys) {
    const value = options.stackConfig.config[key];
    if (value !== undefined) {
      secretValues.add(value);
      try {
        // A secret list (JSON) also has secret items.
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed))
          parsed.forEach((item) => typeof item === "string" && secretValues.add(item));
      } catch {
        // A plain string.
      }
    }
  }
  let serial = 0;
  // The mock engine's newResource() does not see dependencies; the request the SDK sends does.
  const dependenciesByName = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        serial += 1;
        // Component resources only group their children; the plan lists what a provider creates.
        const numericId = String(100000 + serial);
        if (args.custom !== false)
          resources.push({
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            id: numericId,
            dependsOn: dependenciesByName.get(`${args.type}::${args.name}`) ?? [],
          });
        else components.push({ type: args.type, name: args.name });
        const outputs = fakeOutputs(args.type, args.name, args.inputs, serial);
        for (const field of GENERATED_SECRETS[args.type] ?? []) secretValues.add(String(outputs[field]));
        secretValues.add(String(outputs.result));
        return { id: numericId, state: { ...args.inputs, ...outputs } };
      },
      call(args) {
        return args.inputs;
      },
    },
    options.project,
    options.stack,
    false,
  );
  recordDependencies(dependenciesByName);
  pulumi.runtime.setAllConfig(options.stackConfig.config, options.stackConfig.secretKeys);

  // A failure while a resource's inputs resolve (say, user-data over Hetzner's limit) surfaces as an
  // unhandled rejection inside the SDK, and the run never finishes; the CLI reports it as the update's
  // error, and so does this, at once.
  let onRejection: (reason: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    onRejection = (reason) =>
      reject(new Error(reason instanceof Error ? reason.message : String(reason), { cause: reason }));
  });
  process.on("unhandledRejection", onRejection);
  try {
    const result = await Promise.race([collect(options, resources, components, secretValues), failed]);
    // A rejection noticed only after the last registration still fails the run.
    await Promise.race([new Promise((resolve) => setImmediate(resolve)), failed]);
    return result;
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

async function collect(
  options: {
    project: string;
    stack: string;
    load: ProgramLoader;
  },
  resources: PlannedResource[],
  components: OfflineRun["components"],
  secretValues: Set<string>,
): Promise<OfflineRun> {
  const exported = await options.load();
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    if (key === "__esModule" || key === "default") continue;
    const resolved = await resolveOutput(value);
    // Like the engine, a stack output whose value is undefined is not an output at all.
    if (resolved !== undefined) outputs[key] = resolved;
  }
  // The CLI waits for the same RPC queue to drain before it disconnects.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an @internal SDK function, absent from its typings
  const settings = require("@pulumi/pulumi/runtime/settings.js") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
  return {
    project: options.project,
    stack: options.stack,
    resources,
    components,
    outputs,
    secretValues: [...secretValues],
  };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}

/** Wraps the mock monitor so each registration's dependency URNs are kept, by type and name. */
function recordDependencies(into: Map<string, string[]>): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's monitor accessor is untyped here
  const { getMonitor } = require("@pulumi/pulumi/runtime/settings.js") as {
    getMonitor(): { registerResource(req: RegisterRequest, callback: unknown): unknown };
  };
  const monitor = getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    // A URN ends in ::<name>; names are unique in this program.
    const names = req.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
    into.set(`${req.getType()}::${req.getName()}`, names);
    return register(req, callback);
  };
}

async function resolveOutput(value: unknown): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return value;
  const output = value as pulumi.Output<unknown> & {
    promise(): Promise<unknown>;
    isSecret: Promise<boolean>;
  };
  const [resolved, secret] = await Promise.all([output.promise(), output.isSecret]);
  return secret ? { [SIG_KEY]: SECRET_SIG, value: resolved } : resolved;
}
