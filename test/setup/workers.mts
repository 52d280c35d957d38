import { availableParallelism } from "node:os";
import { wholeNumber } from "../../scripts/lib/shared/cli.js";

/**
 * How many test workers vitest runs: two per core (vitest's default is cores - 1, here one file at a
 * time), as most files spend much of their time waiting on the processes they drive (sshd, Prosody,
 * workerd, coturn, the scripts); on two cores four workers took the suite from 173 s to 85-93 s with
 * the same CPU time, and three took 92 s where four took 89 s (2026-12-01). TEST_WORKERS=n sets
 * another number; anything but a whole number from 1 to 99 is refused.
 */
export function testWorkers(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const text = env.TEST_WORKERS;
  if (text === undefined || text === "") return cores * 2;
  const n = wholeNumber(text, 1, 99);
  if (n === undefined) throw new Error(`TEST_WORKERS must be a whole number from 1 to 99 (got '${text}')`);
  return n;
}
