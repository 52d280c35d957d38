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

  it("asks for the IPv4 address when it appends /32 to a what-is-my-address answer", () => {
    // ifconfig.me answers over IPv6 where it can, and '<ipv6>/32' opens SSH to a huge range.
    const lookups = [...readme.matchAll(/\$\(curl ([^)]*)\)\/(\d+)/g)];
    expect(lookups.length).toBeGreaterThan(0);
    for (const [line, flags, prefix] of lookups) {
      expect(prefix === "32" ? flags : "-4", line).toMatch(/(^|\s)-4(\s|$)/);
    }
  });

  it("every dependency with an install script is approved or denied in allowScripts, as it says", () => {
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([where]) => where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length));
    const allow = (
      JSON.parse(readFileSync("package.json", "utf8")) as { allowScripts: Record<string, boolean> }
    ).allowScripts;
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(name in allow))).toEqual([]);
    for (const [name, allowed] of Object.entries(allow)) {
      expect(readme, name).toContain(`${allowed ? "" : "`"}${name}${allowed ? "" : "`"}`);
    }
  });

  it("lists every stack output the program exports", async () => {
    const { exampleConfig, runProgram } = await import("./helpers/program.js");
    const run = await runProgram(exampleConfig());
    const section = /^Outputs: [\s\S]*?\n\n/m.exec(readme)?.[0] ?? "";
    expect(Object.keys(run.outputs).filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });

  it("every `npm run` command it shows exists", () => {
    const used = [...readme.matchAll(/npm run (?:-s |--silent )?([a-z][a-z:-]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    expect([...new Set(used)].filter((name) => !scripts.includes(name))).toEqual([]);
  });
});
