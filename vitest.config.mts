import { defineConfig, type ViteUserConfig } from "vitest/config";
import { testWorkers } from "./test/setup/workers.mjs";

/** What `npm test` (this file) and `npm run test:unit` (vitest.unit.mts) share. */
export const sharedTestOptions: NonNullable<ViteUserConfig["test"]> = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: "forks",
  // Files share their worker process instead of a fresh one each: a fresh fork loads vitest, the
  // Pulumi SDK and the helpers again (about 1 s of CPU a file, a minute a run). Each file must leave
  // the process as it found it, which test/setup/sharedWorker.ts checks after every file.
  isolate: false,
  setupFiles: ["test/setup/sharedWorker.ts"],
  // Two files per core; TEST_WORKERS=n sets another number (test/setup/workers.mts).
  maxWorkers: testWorkers(),
};

/**
 * Every test file in one pool of workers. The unit files are not a project of their own here: a second
 * project ran after the first in four fresh workers, each loading vitest and the SDK again (11 s of a
 * run's 171 s of CPU), while in one pool they fill the gaps the daemon tests leave.
 */
export default defineConfig({
  test: {
    ...sharedTestOptions,
    include: ["test/**/*.test.ts"],
    // Installs (or names) the Debian tools the tests drive: cloud-init, shellcheck, sshd, prosody, python3-jwt.
    globalSetup: ["test/setup/system-packages.ts"],
  },
});
