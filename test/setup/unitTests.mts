import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * `npm run test:unit` selects its files by what they do, not from a list: a test file is a unit test
 * unless it, or a test helper it imports (directly or through other helpers), starts a process
 * (node:child_process: daemons such as sshd, Prosody, coturn; validators such as cloud-init and
 * shellcheck; the issuer as `npm run issuer`) or workerd (miniflare). A new test file lands on the
 * right side by itself. vitest.unit.mts runs them alone (`npm run test:unit`); `npm test`
 * (vitest.config.mts) runs every file, these included.
 */
const STARTS_PROCESSES =
  /from\s+"(?:node:)?child_process"|from\s+"miniflare"|require\("(?:node:)?child_process"\)/;
const LOCAL_IMPORT = /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g;

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const TEST_DIR = path.join(ROOT, "test");

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? walk(file) : [file];
  });

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [base, `${base}.ts`, `${base}.cjs`, `${base}.js`, path.join(base, "index.ts")].find(
    (file) => existsSync(file) && statSync(file).isFile(),
  );
}

/** Whether a test file or helper under test/ starts processes itself or through the helpers it imports. */
function startsProcesses(file: string, seen: Map<string, boolean>): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  seen.set(file, false); // an import cycle adds nothing new
  const text = readFileSync(file, "utf8");
  const result =
    STARTS_PROCESSES.test(text) ||
    [...text.matchAll(LOCAL_IMPORT)].some(([, spec]) => {
      const target = resolveLocal(file, spec!);
      return target !== undefined && target.startsWith(TEST_DIR + path.sep) && startsProcesses(target, seen);
    });
  seen.set(file, result);
  return result;
}

/** The test files that start no process, relative to the repository root. */
export function unitTestFiles(): string[] {
  const seen = new Map<string, boolean>();
  return walk(TEST_DIR)
    .filter((file) => file.endsWith(".test.ts") && !startsProcesses(file, seen))
    .map((file) => path.relative(ROOT, file))
    .sort();
}
