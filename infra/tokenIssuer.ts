import * as cloudflare from "@pulumi/cloudflare";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import { bundleIssuer, WORKER_COMPATIBILITY_DATE } from "./render/bundle";
import { issuerPlainEnv } from "./render/issuerEnv";

export interface TokenIssuerArgs {
  settings: Settings;
  jwtAppSecret: pulumi.Input<string>;
  /** Always at least one: the program generates a key when the stack configures none. */
  apiKeys: pulumi.Input<string[]>;
}

/**
 * Range of the Worker's rate-limit namespace ids. Cloudflare keys counters by namespace id within the
 * account, so each stack needs its own; starting at a million keeps clear of hand-picked small ids.
 */
export const RATE_LIMIT_NAMESPACE_RANGE = { min: 1_000_000, max: 1_000_000 + 2 ** 30 - 1 } as const;

/**
 * The stack's rate-limit namespace id: the first four bytes of sha256(stack), folded into
 * RATE_LIMIT_NAMESPACE_RANGE. Deterministic, so a redeploy keeps its counters; dev and prod in one
 * account get different ids (a collision needs two stack names whose hashes agree in 30 bits).
 */
export function rateLimitNamespaceId(stack: string): string {
  const { min, max } = RATE_LIMIT_NAMESPACE_RANGE;
  const n = createHash("sha256").update(stack, "utf8").digest().readUInt32BE(0);
  return String(min + (n % (max - min + 1)));
}
export const RATE_LIMIT_BINDING = "RATE_LIMITER";
const MAIN_MODULE = "issuer.mjs";

/** Worker names: lower-case letters, digits and dashes, at most 63 characters. */
export function workerScriptName(stack: string): string {
  const slug = stack
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `jitsi-token-issuer-${slug}`.slice(0, 63).replace(/-+$/, "");
}

/**
 * The token issuer. `worker`: a Cloudflare Worker on its own custom domain, with the JWT secret and
 * API keys as secret bindings. `host`: nothing here; the VM runs the Node build (infra/render/issuerHost.ts)
 * behind Jitsi's nginx at /token/. `none`: nothing at all.
 */
export class TokenIssuer extends pulumi.ComponentResource {
  /** Base URL callers use; undefined when the issuer is off. */
  readonly url: pulumi.Output<string | undefined>;

  constructor(name: string, args: TokenIssuerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:issuer:TokenIssuer", name, {}, opts);
    const { settings } = args;
    const target = settings.issuer.target;
    if (target === "worker") {
      this.url = this.deployWorker(name, args);
    } else if (target === "host") {
      this.url = pulumi.output(`https://${settings.domain}/token/`);
    } else {
      this.url = pulumi.output(undefined);
    }
    this.registerOutputs({ url: this.url });
  }

  private deployWorker(
    name: string,
    { settings, jwtAppSecret, apiKeys }: TokenIssuerArgs,
  ): pulumi.Output<string> {
    const accountId = settings.cloudflareAccountId;
    if (!accountId) {
      // config/issuer.ts already refuses this combination; this guards callers that skip validation.
      throw new Error("jitsi:cloudflareAccountId is required when jitsi:issuerTarget is worker");
    }
    const scriptName = workerScriptName(settings.stack);
    const plain = Object.entries(issuerPlainEnv(settings)).map(([envName, text]) => ({
      type: "plain_text",
      name: envName,
      text,
    }));
    const script = new cloudflare.WorkersScript(
      `${name}-worker`,
      {
        accountId,
        scriptName,
        // Bundled at deploy time; esbuild's output is deterministic, so unchanged sources give no diff.
        content: bundleIssuer("worker"),
        mainModule: MAIN_MODULE,
        compatibilityDate: WORKER_COMPATIBILITY_DATE,
        bindings: [
          ...plain,
          { type: "secret_text", name: "JWT_APP_SECRET", text: pulumi.secret(jwtAppSecret) },
          {
            type: "secret_text",
            name: "ISSUER_API_KEYS",
            text: pulumi.secret(pulumi.output(apiKeys).apply((keys) => keys.join(","))),
          },
          {
            type: "ratelimit",
            name: RATE_LIMIT_BINDING,
            namespaceId: rateLimitNamespaceId(settings.stack),
            simple: { limit: settings.issuer.rateLimitPerMinute, period: 60 },
          },
        ],
        observability: { enabled: true },
      },
      { parent: this },
    );
    new cloudflare.WorkersScriptSubdomain(
      `${name}-no-workers-dev`,
      { accountId, scriptName: script.scriptName, enabled: false, previewsEnabled: false },
      { parent: this },
    );
    const domain = new cloudflare.WorkersCustomDomain(
      `${name}-domain`,
      {
        accountId,
        hostname: settings.issuer.hostname,
        service: script.scriptName,
        zoneId: settings.cloudflareZoneId,
      },
      { parent: this },
    );
    return pulumi.interpolate`https://${domain.hostname}/`;
  }
}
