import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readStackConfig, SECRET_PLACEHOLDER } from "../../../../scripts/lib/shared/stackConfig";

const dir = mkdtempSync(path.join(tmpdir(), "stack-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stackFile = (text: string) => {
  const file = path.join(dir, `Pulumi.${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
};

describe("reading a stack file as the Pulumi CLI passes it to the program", () => {
  it("passes strings as they are and lists, booleans and numbers as JSON text", () => {
    const file = stackFile(
      "config:\n  jitsi:domain: meet.example.com\n  jitsi:adminCidrs: [203.0.113.7/32]\n  jitsi:acmeStaging: true\n  jitsi:dnsTtl: 300\n",
    );
    expect(readStackConfig(file)).toEqual({
      config: {
        "jitsi:domain": "meet.example.com",
        "jitsi:adminCidrs": '["203.0.113.7/32"]',
        "jitsi:acmeStaging": "true",
        "jitsi:dnsTtl": "300",
      },
      secretKeys: [],
      placeholders: [],
    });
  });

  it("replaces an encrypted value by a placeholder of the caller's shape and marks it secret", () => {
    const file = stackFile("config:\n  jitsi:issuerApiKeys:\n    secure: v1:abc:def\n");
    const result = readStackConfig(file, (key, placeholder) => `${key}=${placeholder}`);
    expect(result.config["jitsi:issuerApiKeys"]).toBe(`jitsi:issuerApiKeys=${SECRET_PLACEHOLDER}`);
    expect(result.secretKeys).toEqual(["jitsi:issuerApiKeys"]);
    expect(result.placeholders).toEqual(["jitsi:issuerApiKeys"]);
  });

  it("replaces encrypted items inside a list (as `pulumi config set --secret --path` writes them)", () => {
    const file = stackFile(
      "config:\n  jitsi:issuerApiKeys:\n    - secure: v1:abc:def\n    - secure: v1:ghi:jkl\n",
    );
    const result = readStackConfig(file);
    expect(JSON.parse(result.config["jitsi:issuerApiKeys"]!)).toEqual([
      SECRET_PLACEHOLDER,
      SECRET_PLACEHOLDER,
    ]);
    expect(result.secretKeys).toEqual(["jitsi:issuerApiKeys"]);
  });

  it("names the file when it is not YAML or has no config map", () => {
    const broken = stackFile("config:\n  jitsi:domain: [unclosed\n");
    expect(() => readStackConfig(broken)).toThrow(`${broken}:3:1: not valid YAML: `);
    const duplicate = stackFile("config:\n  jitsi:domain: a\n  jitsi:domain: b\n");
    expect(() => readStackConfig(duplicate)).toThrow(
      `${duplicate}:3:3: not valid YAML: Map keys must be unique`,
    );
    expect(() => readStackConfig(`${broken}.missing`)).toThrow(`${broken}.missing: cannot read it (ENOENT)`);
    const list = stackFile("config:\n  - jitsi:domain\n");
    expect(() => readStackConfig(list)).toThrow(/'config' must be a map of settings/);
  });
});
