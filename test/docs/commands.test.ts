import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKUP_HELP } from "../../scripts/backup";
import { RESTORE_HELP } from "../../scripts/restore";
import { TEARDOWN_HELP } from "../../scripts/teardown";
import { VERIFY_HELP } from "../../scripts/verify";
import { DOC_PAGES, readPage, ROOT } from "../helpers/docs";

/** What each operator command prints for --help: exported by four, printed by render and token. */
const help = new Map<string, string>([
  ["backup", BACKUP_HELP],
  ["restore", RESTORE_HELP],
  ["teardown", TEARDOWN_HELP],
  ["verify", VERIFY_HELP],
]);
const COMMANDS = ["render", "token", ...help.keys()];

beforeAll(async () => {
  const run = promisify(execFile);
  await Promise.all(
    ["render", "token"].map(async (name) => {
      // Both print their usage for --help; a failure still yields what it printed.
      const result = await run(
        process.execPath,
        ["--require", "ts-node/register/transpile-only", `scripts/${name}.ts`, "--help"],
        { cwd: ROOT },
      ).catch((err: { stdout: string; stderr: string }) => err);
      help.set(name, `${result.stdout}${result.stderr}`);
    }),
  );
}, 120_000);

const flagsIn = (text: string) => [...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);

describe("the commands the README and docs/ show", () => {
  it.each(DOC_PAGES)(
    "every flag of an `npm run <command> --` line in %s is in that command's --help",
    (page) => {
      const unknown: string[] = [];
      for (const [, name, args] of readPage(page).matchAll(/npm run (?:-s )?([a-z]+) -- (.*)/g)) {
        if (!COMMANDS.includes(name!)) continue;
        expect(help.get(name!), name).toMatch(/usage/i);
        for (const flag of flagsIn(args!.replace(/\s#.*$/, "")))
          if (!new RegExp(`${flag}(?![a-z-])`).test(help.get(name!)!)) unknown.push(`${name} ${flag}`);
      }
      expect(unknown).toEqual([]);
    },
  );

  it("every flag docs/operations.md's Verify section names is in verify's --help", () => {
    const page = readPage("docs/operations.md");
    const section = /\n## Verify\n([\s\S]*?)\n## /.exec(page)?.[1] ?? "";
    const shown = [...section.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.filter((flag) => !new RegExp(`${flag}(?![a-z-])`).test(help.get("verify")!))).toEqual([]);
  });
});
