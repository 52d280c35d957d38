import { describe, expect, it } from "vitest";
import { BACKUP_HELP } from "../../scripts/backup";
import { RENDER_HELP } from "../../scripts/render";
import { RESTORE_HELP } from "../../scripts/restore";
import { TEARDOWN_HELP } from "../../scripts/teardown";
import { TOKEN_HELP } from "../../scripts/token";
import { VERIFY_HELP } from "../../scripts/verify";
import { DOC_PAGES, readPage } from "../helpers/docs";

/**
 * What each operator command prints for --help, as each exports it (test/scripts/render.test.ts and
 * token.test.ts run the commands themselves).
 */
const help = new Map<string, string>([
  ["render", RENDER_HELP],
  ["token", TOKEN_HELP],
  ["backup", BACKUP_HELP],
  ["restore", RESTORE_HELP],
  ["teardown", TEARDOWN_HELP],
  ["verify", VERIFY_HELP],
]);
const COMMANDS = [...help.keys()];

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
