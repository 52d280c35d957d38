import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { renderStack } from "../../scripts/lib/render/renderStack";
import { runMain } from "../../scripts/lib/shared/cli";
import { SECRET_PLACEHOLDER } from "../../scripts/lib/shared/stackConfig";
import { renderMain } from "../../scripts/render";
import { type Finished, runCommand } from "../helpers/command";
import { captureIo } from "../helpers/io";
import { importFreshProgram } from "../helpers/program";
import { withShortStacks } from "../helpers/shortStacks";
import { cloudInitSchemaFile } from "../helpers/userData";

const out = mkdtempSync(path.join(tmpdir(), "render-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * `npm run render <args>` in this process: the same main, flags, stack-file reading and renderStack
 * (the real program under the mock engine), with what it prints captured. The program is imported
 * afresh through vitest's loader for each render, so the Pulumi SDK loads once per file instead of once
 * per run, as it would in a spawned process. The first test runs the real `npm run render` end to end.
 */
async function render(...args: string[]): Promise<Finished> {
  const { io, printed } = captureIo();
  const status = await withShortStacks(() =>
    runMain(
      () =>
        renderMain(args, io, (stack, file, config, dir, renderIo) =>
          renderStack(stack, file, config, dir, renderIo, importFreshProgram),
        ),
      io,
    ),
  );
  return { status, ...printed() };
}

/**
 * A throwaway stack file, derived from the example stack, in the test's own folder: never in the
 * project root, where other test files list the Pulumi.*.yaml files.
 */
function stackFile(name: string, overrides: Record<string, unknown>): string[] {
  const doc = parse(readFileSync("Pulumi.dev.yaml", "utf8")) as { config: Record<string, unknown> };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete doc.config[`jitsi:${key}`];
    else doc.config[`jitsi:${key}`] = value;
  }
  const file = path.join(out, `Pulumi.${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return ["--stack", name, "--stack-file", file];
}

// In order, not concurrent: the in-process renders share the Pulumi SDK's mock engine and settings.
describe("npm run render", { timeout: 60_000 }, () => {
  it("renders the example stack offline: a table, plan.json, cloud-init.yaml and jitsi.env", async () => {
    const dir = path.join(out, "dev");
    const result = await runCommand("npm", ["run", "--silent", "render", "--", "--out", dir]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Stack 'dev': \d+ resources \(offline render; nothing was deployed\)/);
    expect(result.stdout).toMatch(
      /cloudflare:DnsRecord\s+jitsi-dev-a\s+A meet-dev\.example\.com -> 203\.0\.113\.\d+; proxied false/,
    );
    const plan = JSON.parse(readFileSync(path.join(dir, "plan.json"), "utf8")) as Array<{
      type: string;
      name: string;
      inputs: Record<string, unknown>;
    }>;
    expect(
      plan.every(
        (r) => typeof r.type === "string" && typeof r.name === "string" && typeof r.inputs === "object",
      ),
    ).toBe(true);
    expect(plan.find((r) => r.type === "hcloud:index/server:Server")?.inputs.userData).toBe("[secret]");
    // The Worker's bindings show what is not secret (Pulumi marks the whole list secret).
    const bindings = plan.find((r) => r.type === "cloudflare:index/workersScript:WorkersScript")?.inputs
      .bindings as Array<Record<string, unknown>>;
    expect(bindings.map((b) => [b.name, b.text ?? (b.simple as { limit: number }).limit])).toEqual([
      ["JWT_APP_ID", "jitsi-stack-dev"],
      ["JITSI_DOMAIN", "meet-dev.example.com"],
      ["ISSUER_MAX_TTL_SECONDS", "3600"],
      ["ISSUER_RATE_LIMIT_PER_MINUTE", "60"],
      ["ISSUER_ALLOW_ALL_ROOMS", "false"],
      ["ISSUER_CORS_ORIGINS", "https://app.example.com"],
      ["JWT_APP_SECRET", "[secret]"],
      ["ISSUER_API_KEYS", "[secret]"],
      ["RATE_LIMITER", 60],
    ]);
    expect(result.stdout).toMatch(
      /bindings JWT_APP_ID=jitsi-stack-dev, .*JWT_APP_SECRET=\[secret\], ISSUER_API_KEYS=\[secret\]/,
    );
    expect(result.stdout).toContain("are the mock engine's placeholders; Hetzner assigns the real ones");
    expect(readFileSync(path.join(dir, "cloud-init.yaml"), "utf8")).toMatch(/^#cloud-config\n/);
    const env = readFileSync(path.join(dir, "jitsi.env"), "utf8");
    expect(env).toMatch(/^AUTH_TYPE=jwt$/m);
    expect(env.match(/^[A-Z_]*(SECRET|PASSWORD)=.*$/gm)).toEqual([
      "JWT_APP_SECRET=[secret]",
      "JICOFO_AUTH_PASSWORD=[secret]",
      "JVB_AUTH_PASSWORD=[secret]",
      "JIGASI_XMPP_PASSWORD=[secret]",
      "JIGASI_TRANSCRIBER_PASSWORD=[secret]",
      "JIBRI_RECORDER_PASSWORD=[secret]",
      "JIBRI_XMPP_PASSWORD=[secret]",
    ]);
    const schema = await cloudInitSchemaFile(path.join(dir, "cloud-init.yaml"));
    expect(schema.status, schema.output).toBe(0);
  });

  it("refuses a stack file that holds a secret in plain text, without echoing it", async () => {
    const jwtSecret = "c0ffee".repeat(8);
    const stack = `renderplain${process.pid}`;
    const flags = stackFile(stack, { jwtAppSecret: jwtSecret });
    const result = await render(...flags, "--out", path.join(out, stack));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`jitsi:jwtAppSecret is stored in plain text in Pulumi.${stack}.yaml`);
    expect(result.stdout + result.stderr).not.toContain(jwtSecret);
  });

  // One render for both: placeholders replace the encrypted values, are named, and reach no output.
  it("replaces encrypted settings by placeholders, says which, and keeps them out of its output and files", async () => {
    const stack = `rendersecret${process.pid}`;
    const flags = stackFile(stack, {
      jwtAppSecret: { secure: "v1:AAAABBBBCCCC:ZZZZ" },
      issuerApiKeys: { secure: "v1:DDDDEEEEFFFF:YYYY" },
      issuerCorsOrigins: ["https://app.example.com"],
    });
    const dir = path.join(out, stack);
    const result = await render(...flags, "--out", dir);
    expect(result.status, result.stderr).toBe(0);
    const named = /^Encrypted settings replaced by placeholders offline: (.*)$/m.exec(result.stdout)?.[1];
    expect(named?.split(", ").sort()).toEqual(["jitsi:issuerApiKeys", "jitsi:jwtAppSecret"]);
    const everything = [
      result.stdout,
      ...["plan.json", "cloud-init.yaml", "jitsi.env"].map((f) => readFileSync(path.join(dir, f), "utf8")),
    ].join("\n");
    expect(everything).not.toContain(SECRET_PLACEHOLDER);
    expect(everything).toContain("JWT_APP_SECRET=[secret]");
  });

  it("exits 1 and lists every invalid setting", async () => {
    const stack = `renderbad${process.pid}`;
    const flags = stackFile(stack, {
      domain: "https://meet",
      location: "mars1",
      adminCidrs: ["0.0.0.0/0"],
    });
    const result = await render(...flags, "--out", path.join(out, stack));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("has 3 invalid setting(s)");
    expect(result.stderr).toContain("jitsi:domain must be a hostname like meet.example.com");
    expect(result.stderr).toContain("jitsi:location must be a Hetzner location");
    expect(result.stderr).toContain("jitsi:adminCidrs opens SSH to the whole internet");
  });

  it.each([
    [
      "broken YAML",
      "config:\n  jitsi:domain: [meet\n",
      ":3:1: not valid YAML: Flow sequence in block collection",
    ],
    [
      "a duplicate key",
      "config:\n  jitsi:domain: a.example.com\n  jitsi:domain: b.example.com\n",
      ":3:3: not valid YAML: Map keys must be unique",
    ],
    [
      "a list where the settings map belongs",
      "config:\n  - jitsi:domain\n",
      ": 'config' must be a map of settings",
    ],
  ])(
    "a stack file with %s gets one line naming the file, line and column, and exit 1",
    async (_what, text, message) => {
      const file = path.join(out, `broken-${process.pid}-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, text);
      const result = await render("--stack-file", file, "--out", path.join(out, "broken"));
      expect(result.status).toBe(1);
      expect(result.stderr.startsWith(`render: ${file}${message}`), result.stderr).toBe(true);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).not.toContain("    at ");
    },
  );

  it("with --stack-file, names that file and its own stack, and writes to out/<that stack>", async () => {
    const name = `bad${process.pid}`;
    const file = path.join(out, `${name}.yaml`);
    const doc = parse(readFileSync("Pulumi.dev.yaml", "utf8")) as { config: Record<string, unknown> };
    writeFileSync(file, stringify({ config: { ...doc.config, "jitsi:jwtAppSecret": "ab".repeat(32) } }));
    const refused = await render("--stack-file", file);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`Stack '${name}' has 1 invalid setting(s)`);
    expect(refused.stderr).toContain(`jitsi:jwtAppSecret is stored in plain text in ${name}.yaml;`);
    expect(refused.stderr).not.toContain("Pulumi.dev.yaml");
    // The file's name reaches the program through the environment, for that run only: this process
    // (and the next test file sharing it) gets its environment back.
    expect(process.env.JITSI_STACK_FILE).toBeUndefined();

    writeFileSync(file, stringify(doc));
    try {
      const result = await render("--stack-file", file);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Stack '${name}':`);
      expect(result.stdout).toContain(`Wrote ${path.join("out", name, "plan.json")}`);
    } finally {
      rmSync(path.join("out", name), { recursive: true, force: true });
    }
  });

  it("points at a setting written under the project's namespace instead of jitsi:", async () => {
    const stack = `renderns${process.pid}`;
    const flags = stackFile(stack, { domain: undefined });
    const file = flags[3]!;
    const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["jitsi-stack:domain"] = "meet.example.com";
    writeFileSync(file, stringify(doc));
    const result = await render(...flags, "--out", path.join(out, stack));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "jitsi-stack:domain is not read: settings live under the jitsi: namespace; did you mean jitsi:domain?",
    );
  });

  it.each([
    [["--stak", "dev"], /Unknown option '--stak'/],
    [["--stack"], /Option '--stack <value>' argument missing/],
    [
      ["--stack", "../etc/passwd"],
      /--stack must be a stack name like dev or prod \(got '\.\.\/etc\/passwd'\)/,
    ],
    [["--stack", "nosuchstack"], /no stack file Pulumi\.nosuchstack\.yaml/],
    [["extra"], /Unexpected argument 'extra'/],
    [
      ["--stack-file", "/nonexistent/Pulumi.dev.yaml"],
      /^render: no stack file \/nonexistent\/Pulumi\.dev\.yaml;/,
    ],
    [["--stack-file", "/nonexistent.yaml"], /^render: no stack file \/nonexistent\.yaml;/],
  ])("rejects bad flags %j with exit 2 and one line naming the problem", async (args, message) => {
    const result = await render(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^render: /);
  });

  it("refuses a bad flag as a real process too: exit 2 and one line on stderr", async () => {
    const result = await runCommand(process.execPath, [
      "--require",
      "esbuild-register",
      "scripts/render.ts",
      "--stak",
      "dev",
    ]);
    expect(result).toEqual({
      status: 2,
      stdout: "",
      stderr: "render: Unknown option '--stak'. Run with --help for usage.\n",
    });
  });

  it("explains itself with --help", async () => {
    const result = await render("--help");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("--stack NAME");
  });
});
