import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/** Every shell script the project ships: *.sh under infra/ and scripts/, plus the CI entry point. */
function shellScripts(): string[] {
  const found: string[] = [".ci/run"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(".sh")) found.push(full);
    }
  };
  ["infra", "scripts"].forEach(walk);
  return found.sort();
}

describe("shell scripts", () => {
  const scripts = shellScripts();

  it("include the VM installer and the CI entry point", () => {
    expect(scripts).toEqual(expect.arrayContaining([".ci/run", "infra/vm/install-jitsi.sh"]));
  });

  it.each(scripts)("%s passes shellcheck", (script) => {
    const result = spawnSync("shellcheck", ["--external-sources", script], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it.each(scripts)("%s treats an unset variable as an error", (script) => {
    expect(readFileSync(script, "utf8")).toMatch(/^set -[a-z]*u/m);
  });

  it("shellcheck does flag a broken script (so the checks above can fail)", () => {
    const result = spawnSync("shellcheck", ["-"], { input: "#!/bin/sh\nrm -rf $1/*\n", encoding: "utf8" });
    expect(result.status).not.toBe(0);
  });
});
