import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Installs (or names) the Debian tools the tests drive: cloud-init, shellcheck, sshd, prosody, python3-jwt.
    globalSetup: ["test/setup/system-packages.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one file at a time on two cores (cores - 1). Most files wait on the
    // processes they drive (sshd, Prosody, workerd, the scripts), so two at a time use both cores.
    maxWorkers: Math.max(availableParallelism() - 1, 2),
  },
});
