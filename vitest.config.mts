import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { unitTestFiles } from "./test/setup/unitTests.mjs";

const unit = unitTestFiles();

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Files share their worker process instead of a fresh one each: a fresh fork loads vitest, the
    // Pulumi SDK and the helpers again (about 1 s of CPU a file, a minute a run). Each file must leave
    // the process as it found it, which test/setup/sharedWorker.ts checks after every file.
    isolate: false,
    setupFiles: ["test/setup/sharedWorker.ts"],
    // Vitest's default is one file at a time on two cores (cores - 1). Most files wait on the
    // processes they drive (sshd, Prosody, workerd, the scripts), so two at a time use both cores.
    maxWorkers: Math.max(availableParallelism() - 1, 2),
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: unit,
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
