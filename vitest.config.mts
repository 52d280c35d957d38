import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { unitTestFiles } from "./test/setup/unitTests.mjs";

const unit = unitTestFiles();

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one file at a time on two cores (cores - 1). Most files wait on the
    // processes they drive (sshd, Prosody, workerd, the scripts), so two at a time use both cores.
    maxWorkers: Math.max(availableParallelism() - 1, 2),
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: unit,
          // The files that start no process (test/setup/unitTests.mts) share their worker's module cache:
          // each loads the Pulumi SDK (1-1.5 s) once per worker instead of once per file. None of them
          // sets environment variables, globals or fake timers, and each program run sets its own mocks.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "system",
          include: ["test/**/*.test.ts"],
          exclude: unit,
          // Installs (or names) the Debian tools the tests drive: cloud-init, shellcheck, sshd, prosody, python3-jwt.
          globalSetup: ["test/setup/system-packages.ts"],
        },
      },
    ],
  },
});
