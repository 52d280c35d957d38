import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS_DOCS } from "../config/schema";
import { SETTINGS_PAGE, settingsTable } from "../scripts/lib/docs/settingsTable";
import { craftFormat1Backup, makeJitsiTree, snapshot } from "./helpers/jitsi-tree";
import { DOC_PAGES, readPage } from "./helpers/docs";
import { requiredPackages } from "./setup/system-packages";

const readme = readFileSync("README.md", "utf8");
/** The README and every page under docs/, each as one text. */
const pages = DOC_PAGES.map((page) => ({ page, text: readPage(page) }));
const scripts = Object.keys(
  (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts,
);

describe("README and docs/", () => {
  it("gives the quickstart: npm install, npm run render, npm test", () => {
    expect(readme).toMatch(/```sh\nnpm install\nnpm run render\nnpm test\n```/);
  });

  it("names every Debian package the tests install (test/setup/system-packages.txt)", () => {
    const paragraph = /`npm test` installs the Debian tools[\s\S]*?system-packages\.txt`\./.exec(readme)?.[0];
    expect(paragraph).toBeDefined();
    /** How the README names a package, where it does not use the package's own name. */
    const named: Record<string, string> = {
      "openssh-server": "OpenSSH",
      "openssh-client": "OpenSSH",
      prosody: "Prosody",
      "python3-jwt": "PyJWT",
      "python3-flask": "Flask",
      "golang-go": "Go",
      "golang-github-masterminds-sprig-dev": "sprig",
      busybox: "BusyBox",
      openssl: "OpenSSL",
    };
    const missing = requiredPackages().filter((pkg) => {
      const name = pkg.startsWith("lua-") ? "Lua libraries" : (named[pkg] ?? pkg);
      return !paragraph!.includes(name);
    });
    expect(missing).toEqual([]);
  });

  it("docs/settings.md's table is the schema's documentation", () => {
    const page = readFileSync(SETTINGS_PAGE, "utf8");
    const section = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(page)?.[1];
    // Regenerate with: npm run docs:settings
    expect(section).toBe(settingsTable());
  });

  it("names the Pulumi CLI version that CI installs, which is the SDK's in package-lock.json", () => {
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    const version = lock.packages["node_modules/@pulumi/pulumi"]!.version;
    const prerequisite = /^- \[ \] \*\*The \[Pulumi CLI\]\([^)]*\), version ([0-9.]+)\*\*/m.exec(readme)?.[1];
    expect(prerequisite).toBe(version);
  });

  it("its table of what to edit names settings the example stack files set, with the values they hold", () => {
    const section = /\n## Before the first deploy[\s\S]*?\n## /.exec(readme)?.[0] ?? "";
    const rows = [...section.matchAll(/^\| (`jitsi:.*?) \| (.*?) \| .* \|$/gm)];
    expect(rows.length).toBeGreaterThan(5);
    const examples = ["Pulumi.dev.yaml", "Pulumi.prod.yaml"].map((file) => readFileSync(file, "utf8"));
    for (const [, keys, shown] of rows) {
      for (const [, key] of keys!.matchAll(/`(jitsi:[A-Za-z]+)`/g)) {
        expect(key!.slice("jitsi:".length) in SETTINGS_DOCS, key).toBe(true);
        expect(
          examples.some((text) => text.includes(`  ${key}:`)),
          key,
        ).toBe(true);
      }
      for (const [, value] of shown!.matchAll(/`([^`]+)`/g)) {
        for (const part of value!.split("...").filter(Boolean))
          expect(
            examples.some((text) => text.includes(part.trim())),
            value,
          ).toBe(true);
      }
    }
  });

  it("asks for the IPv4 address when it appends /32 to a what-is-my-address answer", () => {
    // ifconfig.me answers over IPv6 where it can, and '<ipv6>/32' opens SSH to a huge range.
    const lookups = pages.flatMap(({ text }) => [...text.matchAll(/\$\(curl ([^)]*)\)\/(\d+)/g)]);
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

  it("lists every stack output the program exports, with every feature on", async () => {
    const { exampleConfig, runProgram, RECORDING_EXAMPLE, RECORDING_SECRET_KEYS } =
      await import("./helpers/program.js");
    const section = /^ *Outputs: [\s\S]*?\n\n/m.exec(readme)?.[0] ?? "";
    for (const config of [{}, { bridges: "1", ...RECORDING_EXAMPLE }]) {
      const run = await runProgram(exampleConfig(config, RECORDING_SECRET_KEYS));
      expect(Object.keys(run.outputs).filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
    }
  });

  it.each(DOC_PAGES)("every `npm run` command %s shows exists", (page) => {
    const text = readPage(page);
    const used = [...text.matchAll(/npm run (?:-s |--silent )?([a-z][a-z:-]*)/g)].map((m) => m[1]!);
    expect([...new Set(used)].filter((name) => !scripts.includes(name))).toEqual([]);
  });

  it("shows every npm script package.json defines", () => {
    const shown = new Set(
      pages.flatMap(({ text }) =>
        [...text.matchAll(/npm (?:run (?:-s )?)?([a-z][a-z:-]*)/g)].map((m) => m[1]!),
      ),
    );
    expect(scripts.filter((name) => !shown.has(name))).toEqual([]);
  });

  it("its manual recovery of an old-format backup puts only the old config/, owners and modes kept, at state/config", async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), "jitsi-readme-"));
    try {
      const vm = path.join(scratch, "jitsi");
      makeJitsiTree(vm);
      const archive = path.join(scratch, "2025-06-01T12-30-05Z.tar.gz");
      await craftFormat1Backup(vm, archive);
      const line = /^tar -xzpf \/root\/old-backup\.tar\.gz .*$/m.exec(readPage("docs/operations.md"))?.[0];
      expect(line).toBeDefined();
      const target = path.join(scratch, "state-config");
      mkdirSync(target); // the README's mkdir /opt/jitsi/state/config
      const command = line!
        .replace("/root/old-backup.tar.gz", archive)
        .replace("/opt/jitsi/state/config", target);
      execFileSync("sh", ["-c", command]);
      const { ".": _root, ...restored } = snapshot(target);
      const { ".": _data, ...original } = snapshot(path.join(vm, "state/config"));
      expect(restored).toEqual(original);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
