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

  it("every `npm run` command it shows exists", () => {
    const used = [...readme.matchAll(/npm run (?:-s |--silent )?([a-z][a-z:-]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    expect([...new Set(used)].filter((name) => !scripts.includes(name))).toEqual([]);
  });
});
