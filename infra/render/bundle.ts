import { buildSync } from "esbuild";
import path from "node:path";

/** workerd behaviour the Worker is written for; miniflare's workerd runs the tests at the same date. */
export const WORKER_COMPATIBILITY_DATE = "2026-04-01";

export type BundleTarget = "worker" | "node";

const ROOT = path.resolve(__dirname, "..", "..");

/** Entry point and platform of each build: the Worker runs in workerd, the Node build in the VM's node container. */
const TARGETS: Record<BundleTarget, { entry: string; platform: "browser" | "node"; conditions: string[] }> = {
  worker: { entry: "issuer/worker.ts", platform: "browser", conditions: ["workerd", "worker", "browser"] },
  node: { entry: "issuer/node.ts", platform: "node", conditions: ["node"] },
};

/**
 * Bundles the token issuer into one minified ES module, in memory. The output depends only on the
 * sources (no timestamps, no absolute paths), so an unchanged issuer gives an unchanged Pulumi diff.
 */
export function bundleIssuer(target: BundleTarget): string {
  const t = TARGETS[target];
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [t.entry],
    bundle: true,
    write: false,
    minify: true,
    format: "esm",
    platform: t.platform,
    conditions: t.conditions,
    target: "es2022",
    charset: "utf8",
    legalComments: "eof",
    sourcemap: false,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced no output for the ${target} issuer`);
  return file.text;
}
