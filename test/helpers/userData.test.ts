import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cloudInitSchemaFile } from "./userData";

const dir = mkdtempSync(path.join(tmpdir(), "cloud-init-driver-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `cloud-init` command itself, one process per file. */
function command(file: string) {
  const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("the suite's cloud-init schema driver (one Python process for many files)", () => {
  // Three of the command's answers (a pass, a schema error, a refusal before the schema): each
  // command run costs the 0.3 s of CPU that the driver saves.
  it.each([
    ["a valid document", "#cloud-config\npackages: [curl]\nruncmd:\n  - [echo, hi]\n", 0],
    ["a schema error", "#cloud-config\npackages: 3\nruncmd: {a: 1}\n", 1],
    ["a file without the #cloud-config line", "packages: [curl]\n", 1],
  ])("answers exactly as the cloud-init command does: %s", async (what, text, status) => {
    const file = path.join(dir, what.replace(/\W+/g, "-"));
    writeFileSync(file, text);
    const expected = command(file);
    expect(expected.status, expected.output).toBe(status);
    expect(await cloudInitSchemaFile(file)).toEqual(expected);
  });
});
