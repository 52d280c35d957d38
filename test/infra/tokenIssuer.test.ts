import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleIssuer, WORKER_COMPATIBILITY_DATE } from "../../infra/render/bundle";
import {
  RATE_LIMIT_BINDING,
  RATE_LIMIT_NAMESPACE_RANGE,
  rateLimitNamespaceId,
  TokenIssuer,
  workerScriptName,
} from "../../infra/tokenIssuer";
import { settingsWith } from "../helpers/settings";

/** How Pulumi's mocks hand over an input that is a secret. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270";
const JWT_SECRET = "jwt-secret-for-the-component-test-0123456789";
const API_KEYS = ["key-one-0123456789abcdef0123456789abcdef", "key-two-0123456789abcdef0123456789abcdef"];

interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

let created: Created[] = [];
beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        created.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "jitsi-stack",
    "test",
    false,
  );
});

const valueOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

/** Builds the component and waits for its children. Secrets go in plain on purpose: the component must wrap them. */
async function build(overrides: Record<string, string>, expectedChildren: number) {
  created = [];
  const parents: unknown[] = [];
  const issuer = new TokenIssuer(
    "issuer",
    {
      settings: settingsWith(overrides),
      jwtAppSecret: JWT_SECRET,
      apiKeys: API_KEYS,
    },
    {
      transformations: [
        (args) => {
          if (args.type !== "jitsi-stack:issuer:TokenIssuer") parents.push(args.opts.parent);
          return undefined;
        },
      ],
    },
  );
  const url = await valueOf(issuer.url);
  for (let i = 0; i < 100 && created.length < expectedChildren; i++)
    await new Promise((r) => setTimeout(r, 20));
  const children = created.filter((c) => c.type !== "jitsi-stack:issuer:TokenIssuer");
  return {
    issuer,
    url,
    children,
    parents,
    component: created.find((c) => c.type === "jitsi-stack:issuer:TokenIssuer"),
  };
}

const isSecret = (v: unknown): v is { value: unknown } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_MARK;

/** Replaces every secret-wrapped part with a marker: what is left is what Pulumi would show in plain text. */
function redactSecrets(v: unknown): unknown {
  if (isSecret(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactSecrets(x)]));
  return v;
}

function unwrap(v: unknown): unknown {
  if (isSecret(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

describe("TokenIssuer", () => {
  it("deploys the bundled Worker as an ES module on token.<domain>, with workers.dev turned off", async () => {
    const { url, children, parents, component } = await build({}, 4);
    expect(component).toMatchObject({ type: "jitsi-stack:issuer:TokenIssuer" });
    expect(children.map((c) => c.type).sort()).toEqual([
      "cloudflare:index/workersCustomDomain:WorkersCustomDomain",
      "cloudflare:index/workersScript:WorkersScript",
      "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain",
    ]);
    expect(parents).toHaveLength(3);
    for (const p of parents) expect(p).toBeInstanceOf(TokenIssuer);
    const script = children.find((c) => c.type.endsWith("WorkersScript"))!.inputs;
    expect(script.scriptName).toBe(workerScriptName("test"));
    expect(script.accountId).toBe("01a7362d577a6c3019a474fd6f485823");
    expect(script.mainModule).toMatch(/\.mjs$/);
    expect(script.compatibilityDate).toBe(WORKER_COMPATIBILITY_DATE);
    expect(script.content).toBe(bundleIssuer("worker"));
    expect(script.content).toMatch(/export\s*\{/);
    const domain = children.find((c) => c.type.endsWith("WorkersCustomDomain"))!.inputs;
    expect(domain).toMatchObject({
      hostname: "token.meet.example.com",
      service: script.scriptName,
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353",
    });
    const subdomain = children.find((c) => c.type.endsWith("WorkersScriptSubdomain"))!.inputs;
    expect(subdomain).toMatchObject({ enabled: false, scriptName: script.scriptName });
    expect(url).toBe("https://token.meet.example.com/");
  });

  it("binds the JWT secret and API keys as secret_text, never visible outside Pulumi secrets, and the stack's rate limit", async () => {
    const { children } = await build(
      { issuerRateLimitPerMinute: "120", issuerCorsOrigins: '["https://app.example.com"]' },
      4,
    );
    const raw = children.find((c) => c.type.endsWith("WorkersScript"))!.inputs.bindings;
    // Outside the secret wrappers, neither the JWT secret nor any API key may show.
    const visible = JSON.stringify(redactSecrets(raw));
    for (const s of [JWT_SECRET, ...API_KEYS]) expect(visible).not.toContain(s);
    const bindings = unwrap(raw) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const byName = Object.fromEntries(bindings.map((b) => [b.name, b]));
    expect(byName.JWT_APP_SECRET).toEqual({ type: "secret_text", name: "JWT_APP_SECRET", text: JWT_SECRET });
    expect(byName.ISSUER_API_KEYS).toEqual({
      type: "secret_text",
      name: "ISSUER_API_KEYS",
      text: API_KEYS.join(","),
    });
    expect(byName[RATE_LIMIT_BINDING]).toMatchObject({
      type: "ratelimit",
      simple: { limit: 120, period: 60 },
    });
    expect(byName[RATE_LIMIT_BINDING].namespaceId).toBe(rateLimitNamespaceId("test"));
    expect(byName.JWT_APP_ID).toEqual({ type: "plain_text", name: "JWT_APP_ID", text: "jitsi-stack" });
    expect(byName.ISSUER_CORS_ORIGINS.text).toBe("https://app.example.com");
  });

  it("uses the configured issuer hostname for the custom domain", async () => {
    const { url, children } = await build({ issuerHostname: "tokens.example.com" }, 4);
    expect(children.find((c) => c.type.endsWith("WorkersCustomDomain"))!.inputs.hostname).toBe(
      "tokens.example.com",
    );
    expect(url).toBe("https://tokens.example.com/");
  });

  it("creates no cloud resources in host mode and points callers at https://<domain>/token/", async () => {
    const { url, children } = await build({ issuerTarget: "host" }, 1);
    expect(children).toEqual([]);
    expect(url).toBe("https://meet.example.com/token/");
  });

  it("creates nothing and exports no URL when the issuer is off", async () => {
    const { url, children } = await build({ issuerTarget: "none" }, 1);
    expect(children).toEqual([]);
    expect(url).toBeUndefined();
  });

  it("names the Worker after the stack, within Cloudflare's script name rules", () => {
    expect(workerScriptName("Prod_EU")).toBe("jitsi-token-issuer-prod-eu");
    expect(workerScriptName("x".repeat(80))).toMatch(/^[a-z0-9-]{1,63}$/);
  });

  it("gives each stack its own rate-limit counters: the namespace id follows the stack name, in a fixed range", () => {
    const stacks = ["dev", "prod", "staging", "Prod_EU", "prod-eu", "test", "x".repeat(80)];
    const ids = stacks.map(rateLimitNamespaceId);
    expect(new Set(ids).size).toBe(stacks.length);
    for (const id of ids) {
      expect(id).toMatch(/^[1-9]\d*$/);
      expect(Number(id)).toBeGreaterThanOrEqual(RATE_LIMIT_NAMESPACE_RANGE.min);
      expect(Number(id)).toBeLessThanOrEqual(RATE_LIMIT_NAMESPACE_RANGE.max);
    }
    // Deterministic: the same stack keeps its id across runs, so a deploy does not reset its counters.
    expect(rateLimitNamespaceId("prod")).toBe(ids[1]);
    expect(rateLimitNamespaceId("dev")).toBe(ids[0]);
    expect(rateLimitNamespaceId("dev")).not.toBe(rateLimitNamespaceId("prod"));
    // Pinned (checked with Python's hashlib): changing the formula would reset every deployed stack's counters.
    expect(rateLimitNamespaceId("prod")).toBe("660861398");
  });
});
