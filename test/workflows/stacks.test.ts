import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { captureIo } from "../helpers/io";
import { main, parseStacks, pickStacks, StacksError, teardownRefusal } from "../../.github/scripts/stacks";

const ROOT = path.resolve(__dirname, "../..");
const STACKS = parseStacks(readFileSync(path.join(ROOT, ".github/stacks.json"), "utf8"));
const stackFile = (name: string) => readFileSync(path.join(ROOT, `Pulumi.${name}.yaml`), "utf8");
const entry = (
  name: string,
  extra: Partial<Record<"preview" | "deploy" | "backup" | "protected", boolean>> = {},
) => ({
  name,
  preview: true,
  deploy: true,
  backup: true,
  protected: false,
  ...extra,
});

type Outcome = { code: number; stdout: string; stderr: string };

/** The entry point as the workflows run it: `node --require ts-node/register/transpile-only ...`. */
function cliProcess(...args: string[]): Outcome {
  try {
    const stdout = execFileSync(
      process.execPath,
      ["--require", "ts-node/register/transpile-only", ".github/scripts/stacks.ts", ...args],
      { cwd: ROOT, stdio: "pipe" },
    ).toString();
    return { code: 0, stdout, stderr: "" };
  } catch (e) {
    const err = e as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: err.status, stdout: err.stdout.toString(), stderr: err.stderr.toString() };
  }
}

/** The same `main`, in this process: a node process with ts-node costs about 0.75 s of CPU. */
function cli(...args: string[]): Outcome {
  const { io, printed } = captureIo();
  const code = main(args, io);
  return { code, ...printed() };
}

describe("stacks are listed in one place, .github/stacks.json", () => {
  it("lists exactly the stacks that have a Pulumi.<stack>.yaml", () => {
    const files = readdirSync(ROOT)
      .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
      .filter(Boolean);
    expect(STACKS.map((s) => s.name).sort()).toEqual(files.sort());
  });

  it("protects every stack whose config says production", () => {
    for (const stack of STACKS) {
      const config = (parse(stackFile(stack.name)) as { config: Record<string, unknown> }).config;
      if (config["jitsi:environment"] === "production") expect(stack.protected, stack.name).toBe(true);
    }
  });

  it("picks the stacks enabled for a purpose, in file order, or the one named", () => {
    const stacks = [entry("dev"), entry("staging", { deploy: false }), entry("prod")];
    expect(pickStacks(stacks, "deploy")).toEqual(["dev", "prod"]);
    expect(pickStacks(stacks, "preview", "all")).toEqual(["dev", "staging", "prod"]);
    expect(pickStacks(stacks, "backup", "prod")).toEqual(["prod"]);
    expect(() => pickStacks(stacks, "deploy", "staging")).toThrow(/stack 'staging' has "deploy": false/);
    expect(() => pickStacks(stacks, "deploy", "qa")).toThrow(
      /stack 'qa' is not in .github\/stacks.json \(known: dev, staging, prod\)/,
    );
  });

  it.each([
    ["not JSON", "{stacks: []}", /is not valid JSON/],
    ["no stacks", '{"stacks": []}', /stacks lists no stack/],
    ["a bad name", JSON.stringify({ stacks: [entry("dev/prod")] }), /stacks.0.name must be a stack name/],
    [
      "a missing flag",
      JSON.stringify({ stacks: [{ name: "dev", preview: true }] }),
      /stacks.0.deploy must be true or false/,
    ],
    [
      "a string flag",
      JSON.stringify({ stacks: [entry("dev", { protected: "yes" as never })] }),
      /stacks.0.protected/,
    ],
    ["an unknown key", JSON.stringify({ stacks: [{ ...entry("dev"), deploys: true }] }), /deploys/],
    ["a duplicate", JSON.stringify({ stacks: [entry("dev"), entry("dev")] }), /lists dev more than once/],
  ])("rejects a stacks file with %s, naming the place", (_what, text, expected) => {
    expect(() => parseStacks(text)).toThrow(StacksError);
    expect(() => parseStacks(text)).toThrow(expected);
  });
});

describe("teardown refuses what must not be torn down", () => {
  const devFile = stackFile("dev");
  it("allows the dev stack when the name is typed twice", () => {
    expect(teardownRefusal(STACKS, "dev", "dev", devFile)).toBeUndefined();
  });

  it.each([
    ["a mistyped confirmation", "dev", "de", devFile, /confirmation 'de' does not match/],
    ["a stack that is not listed", "qa", "qa", devFile, /not in .github\/stacks.json/],
    ["the protected prod stack", "prod", "prod", stackFile("prod"), /'prod' is protected/],
    ["a name that is not a stack name", "dev; rm -rf /", "dev; rm -rf /", devFile, /is not a stack name/],
  ])("refuses %s", (_what, stack, confirm, file, expected) => {
    expect(teardownRefusal(STACKS, stack, confirm, file)).toMatch(expected);
  });

  it("refuses an unprotected entry whose stack file says production or delete protection", () => {
    const stacks = [entry("dev")];
    const prodLike = devFile.replace("jitsi:environment: dev", "jitsi:environment: production");
    expect(teardownRefusal(stacks, "dev", "dev", prodLike)).toMatch(/jitsi:environment production/);
    const guarded = `${devFile}  jitsi:deleteProtection: "true"\n`;
    expect(teardownRefusal(stacks, "dev", "dev", guarded)).toMatch(/jitsi:deleteProtection true/);
    expect(teardownRefusal(stacks, "dev", "dev", undefined)).toMatch(/Pulumi.dev.yaml does not exist/);
  });
});

describe("the workflows' entry point", () => {
  it("prints the matrix as a step output line", () => {
    expect(cli("list", "deploy")).toEqual({ code: 0, stdout: 'stacks=["dev","prod"]\n', stderr: "" });
    expect(cli("list", "backup", "prod").stdout).toBe('stacks=["prod"]\n');
  });

  it("exits 2 with the reason for an unknown stack or bad usage, and 1 for a refused teardown", () => {
    expect(cli("list", "deploy", "qa")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/stack 'qa'/),
    });
    expect(cli("list", "destroy")).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage:/) });
    expect(cli("guard-teardown", "prod", "prod")).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Refusing to tear down: stack 'prod' is protected/),
    });
    expect(cli("guard-teardown", "dev", "dev")).toMatchObject({ code: 0 });
  });

  it("runs as the workflows run it: its line on stdout, its refusal on stderr with the exit code", () => {
    expect(cliProcess("list", "deploy")).toEqual(cli("list", "deploy"));
    expect(cliProcess("guard-teardown", "prod", "prod")).toEqual(cli("guard-teardown", "prod", "prod"));
  });
});
