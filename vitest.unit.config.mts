import { defineConfig } from "vitest/config";
import { unitTestFiles } from "./test/setup/unitTests";
import full from "./vitest.config.mts";

/** `npm run test:unit`: the tests that start no process (test/setup/unitTests.ts), without the Debian tools. */
export default defineConfig({
  test: { ...full.test, include: unitTestFiles(), globalSetup: [] },
});
