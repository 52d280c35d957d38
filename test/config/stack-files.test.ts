import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { NAMESPACE, type Settings, validateSettings } from "../../config/schema";

const ROOT = path.resolve(__dirname, "../..");
const STACK_FILES = readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

/**
 * A stack file's `config:` as the program sees it: keys without the namespace and every value in
 * Pulumi's string form (lists and objects as JSON, booleans and numbers as their text).
 */
function stackConfig(file: string): { raw: Record<string, string>; secure: string[]; foreign: string[] } {
  const doc = parse(readFileSync(path.join(ROOT, file), "utf8")) as { config?: Record<string, unknown> };
  const raw: Record<string, string> = {};
  const secure: string[] = [];
  const foreign: string[] = [];
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in value) {
      secure.push(key);
      continue;
    }
    if (!key.startsWith(`${NAMESPACE}:`)) {
      foreign.push(key);
      continue;
    }
    raw[key.slice(NAMESPACE.length + 1)] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { raw, secure, foreign };
}

describe("the stack files in the repository are valid as they stand", () => {
  it("has a dev and a prod stack file", () => {
    expect(STACK_FILES).toEqual(expect.arrayContaining(["Pulumi.dev.yaml", "Pulumi.prod.yaml"]));
  });

  it.each(STACK_FILES)("%s passes the settings schema and needs no secrets key", (file) => {
    const stack = file.split(".")[1]!;
    const { raw, secure, foreign } = stackConfig(file);
    expect(secure, "secure: values need the stack's key; keep examples free of them").toEqual([]);
    expect(foreign).toEqual([]);
    const result = validateSettings(stack, raw);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it("marks prod as production: protected, backed up, with trusted certificates", () => {
    const { raw } = stackConfig("Pulumi.prod.yaml");
    expect(raw).toMatchObject({
      environment: "production",
      deleteProtection: "true",
      hetznerBackups: "true",
      acmeStaging: "false",
    });
    const result = validateSettings("prod", raw);
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.settings).toMatchObject({
      environment: "production",
      deleteProtection: true,
      hetznerBackups: true,
      acmeStaging: false,
    });
    // SSH stays limited to documentation ranges, never the whole internet.
    expect(result.settings.adminCidrs).toEqual(["203.0.113.0/24", "2001:db8::/32"]);
  });

  it("would catch a broken prod file: the same conversion reports a bad value by key", () => {
    const { raw } = stackConfig("Pulumi.prod.yaml");
    const result = validateSettings("prod", { ...raw, deleteProtection: "yes", adminCidrs: '["0.0.0.0/0"]' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join("\n")).toMatch(/jitsi:deleteProtection/);
    expect(result.errors.join("\n")).toMatch(/jitsi:adminCidrs opens SSH to the whole internet/);
  });
});

/** The public hostnames a stack claims in the shared zone: its meeting domain and, as a Worker, the issuer's. */
function claimedHostnames(settings: Settings): string[] {
  return [settings.domain, ...(settings.issuer.target === "worker" ? [settings.issuer.hostname] : [])];
}

/** Each hostname that more than one stack claims, with the stacks: deployed together they fight over it. */
function hostnameClashes(stacks: Array<{ name: string; settings: Settings }>): string[] {
  const owners = new Map<string, string[]>();
  for (const { name, settings } of stacks) {
    for (const host of claimedHostnames(settings)) owners.set(host, [...(owners.get(host) ?? []), name]);
  }
  return [...owners]
    .filter(([, names]) => names.length > 1)
    .map(([host, names]) => `${host}: ${names.join(", ")}`);
}

function settingsOf(file: string, overrides: Record<string, string> = {}): Settings {
  const stack = file.split(".")[1]!;
  const result = validateSettings(stack, { ...stackConfig(file).raw, ...overrides });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.settings;
}

describe("the example stacks can be deployed side by side", () => {
  it("no two stack files claim the same meeting or issuer hostname", () => {
    const stacks = STACK_FILES.map((file) => ({ name: file, settings: settingsOf(file) }));
    expect(stacks.length).toBeGreaterThan(1);
    expect(hostnameClashes(stacks)).toEqual([]);
  });

  it("the check names a clash: the same domain, or one stack's issuer on another's name", () => {
    const dev = settingsOf("Pulumi.dev.yaml");
    const prod = settingsOf("Pulumi.prod.yaml");
    expect(
      hostnameClashes([
        { name: "dev", settings: dev },
        { name: "prod", settings: { ...prod, domain: dev.domain } },
      ]),
    ).toEqual([`${dev.domain}: dev, prod`]);
    const issuerOnDev = settingsOf("Pulumi.prod.yaml", { issuerHostname: dev.issuer.hostname });
    expect(
      hostnameClashes([
        { name: "dev", settings: dev },
        { name: "prod", settings: issuerOnDev },
      ]),
    ).toEqual([`${dev.issuer.hostname}: dev, prod`]);
  });
});
