import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("the entry point as the Pulumi CLI loads it", () => {
  it(
    "compiles with type-checking through ts-node as CommonJS and declares the stack",
    { timeout: 120_000 },
    () => {
      // A larger young generation only spares the garbage collector: ts-node's type-checking (a new
      // checker for each file it loads) allocates heavily, and the default takes ~2 s more CPU here.
      const result = spawnSync(
        process.execPath,
        ["--max-semi-space-size=32", "test/helpers/cli-harness.cjs", "dev"],
        { encoding: "utf8" },
      );
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const { outputs, types } = JSON.parse(result.stdout) as { outputs: string[]; types: string[] };
      expect(outputs).toEqual(
        expect.arrayContaining(["meetingUrl", "ipv4", "ipv6", "serverId", "jwtAppSecret"]),
      );
      expect(types).toEqual(
        expect.arrayContaining(["hcloud:index/server:Server", "cloudflare:index/dnsRecord:DnsRecord"]),
      );
    },
  );
});
