import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settingsTable } from "../scripts/lib/settingsTable";

const readme = readFileSync("README.md", "utf8");
const scripts = Object.keys(
  (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts,
);

describe("README", () => {
  it("gives the quickstart: npm install, npm run render, npm test", () => {
    expect(readme).toMatch(/```sh\nnpm install\nnpm run render\nnpm test\n```/);
  });

  it("its settings table is the schema's documentation", () => {
    const section = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
    // Regenerate with: node -r ts-node/register/transpile-only scripts/lib/settingsTable.ts
    expect(section).toBe(settingsTable());
  });

  it("every `npm run` command it shows exists", () => {
    const used = [...readme.matchAll(/npm run (?:-s |--silent )?([a-z][a-z:-]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    expect([...new Set(used)].filter((name) => !scripts.includes(name))).toEqual([]);
  });
});
