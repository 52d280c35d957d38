import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_NAMES } from "../../issuer/config";
import { NODE_SERVER_LIMITS } from "../../issuer/server";

/** The issuer's page of the documentation. */
const section = readFileSync(path.resolve(__dirname, "..", "..", "docs", "issuer.md"), "utf8");

describe("docs/issuer.md", () => {
  it("documents every environment variable the issuer reads", () => {
    const table = /\n## Running the issuer yourself[\s\S]*?\n\n(\|[\s\S]*?)\n\n/.exec(section)?.[1] ?? "";
    expect(ENV_NAMES.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it("states the Node server's timeouts as the code sets them", () => {
    for (const ms of [
      NODE_SERVER_LIMITS.headersTimeout,
      NODE_SERVER_LIMITS.requestTimeout,
      NODE_SERVER_LIMITS.keepAliveTimeout,
    ]) {
      expect(section).toContain(`${ms / 1000} s`);
    }
    expect(section).toContain(`${NODE_SERVER_LIMITS.maxHeaderSize / 1024} KiB`);
  });
});
