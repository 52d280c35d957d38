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
    // Two files per core (vitest's default is cores - 1, here one file at a time). Most files spend much
    // of their time waiting on the processes they drive (sshd, Prosody, workerd, coturn, the scripts);
    // on two cores four workers took the suite from 173 s to 85-93 s with the same CPU time.
    // TEST_WORKERS=n overrides it (vitest's --maxWorkers does not reach the projects below).
    maxWorkers: Number(process.env.TEST_WORKERS) || availableParallelism() * 2,
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
