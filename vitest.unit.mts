import { defineConfig } from "vitest/config";
import { unitTestFiles } from "./test/setup/unitTests.mjs";
import { sharedTestOptions } from "./vitest.config.mjs";

/**
 * `npm run test:unit`: the test files that start no process (test/setup/unitTests.mts), without the
 * Debian tools' setup. `npm test` (vitest.config.mts) runs them too, with every other file.
 */
export default defineConfig({
  test: {
    ...sharedTestOptions,
    include: unitTestFiles(),
  },
});
