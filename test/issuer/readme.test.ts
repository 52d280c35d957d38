import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_NAMES } from "../../issuer/config";
import { NODE_SERVER_LIMITS } from "../../issuer/server";

const readme = readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");
/** The README's part about the issuer, from its heading to the next top-level one. */
const section = /\n## Token issuer\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";

describe("README, token issuer", () => {
  it("documents every environment variable the issuer reads", () => {
    const table = /### Running the issuer yourself[\s\S]*?\n\n(\|[\s\S]*?)\n\n/.exec(section)?.[1] ?? "";
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
