import { describe, expect, it } from "vitest";
import { unitTestFiles } from "./unitTests.mjs";

describe("npm run test:unit's selection", () => {
  const unit = unitTestFiles();

  it("leaves out files that start daemons, validators or workerd, directly or through a helper", () => {
    for (const file of [
      "test/scripts/restore.test.ts", // sshd, through test/helpers/sshd.ts
      "test/issuer/node.test.ts", // npm run issuer, through test/issuer/targets.ts
      "test/issuer/worker.test.ts", // workerd (miniflare), through test/issuer/targets.ts
      "test/scripts/token.test.ts", // spawns npm run token itself
      "test/infra/render/cloudInit.test.ts", // cloud-init schema, through test/helpers/userData.ts
    ]) {
      expect(unit).not.toContain(file);
    }
  });

  it("keeps files that run in the test process only, this one included", () => {
    expect(unit).toEqual(
      expect.arrayContaining([
        "test/issuer/config.test.ts",
        "test/config/schema.test.ts",
        "test/policy/firewall.test.ts",
        "test/setup/unitTests.test.ts",
      ]),
    );
    expect(unit.every((file) => file.startsWith("test/") && file.endsWith(".test.ts"))).toBe(true);
  });
});
