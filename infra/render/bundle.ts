import { buildSync } from "esbuild";
import { minify_sync } from "terser";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

/** workerd behaviour the Worker is written for; miniflare's workerd runs the tests at the same date. */
export const WORKER_COMPATIBILITY_DATE = "2026-04-01";

export type BundleTarget = "worker" | "node";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Third-party packages the Node build imports instead of bundling. The VM installs them at the exact
 * version and integrity of our package-lock.json (see issuerHost.ts), so the user-data carries only our code.
 */
export const NODE_RUNTIME_PACKAGES = ["jose"] as const;

/** Entry point and platform of each build: the Worker runs in workerd, the Node build in the VM's node container. */
const TARGETS: Record<
  BundleTarget,
  {
    entry: string;
    platform: "browser" | "node";
    conditions: string[];
    external: string[];
    /** A second minifier pass with terser, whose compressor finds what esbuild's leaves. */
    terser: boolean;
  }
> = {
  // workerd has no node_modules: the Worker carries everything it runs. Terser takes its gzipped
  // size from 15.3 KB to 14.9 KB, under the 15,000-byte budget (test/issuer/bundle.test.ts).
  worker: {
    entry: "issuer/worker.ts",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: [],
    terser: true,
  },
  node: {
    entry: "issuer/node.ts",
    platform: "node",
    conditions: ["node"],
    external: [...NODE_RUNTIME_PACKAGES],
    terser: false,
  },
};

const TERSER_OPTIONS = {
  module: true,
  ecma: 2020,
  compress: { passes: 2 },
  format: { comments: false },
} as const;

/** Terser's output for an esbuild output, by the SHA-256 of both and the options: terser takes seconds. */
const TERSER_CACHE = path.join(ROOT, "node_modules", ".cache", "jitsi-stack-terser");

const built = new Map<BundleTarget, string>();

/**
 * The issuer's bundle for a target, built once per process: the sources do not change while the
 * program (or a test file) runs, and the Pulumi program, the user-data and the tests all ask for it.
 */
export function bundleIssuer(target: BundleTarget): string {
  let bundle = built.get(target);
  if (bundle === undefined) built.set(target, (bundle = buildIssuerBundle(target, { cache: true })));
  return bundle;
}

/**
 * Bundles the token issuer into one minified ES module, in memory. The output depends only on the
 * sources (no timestamps, no absolute paths), so an unchanged issuer gives an unchanged Pulumi diff.
 * With `cache`, terser's pass is reused from an earlier run with the same esbuild output.
 */
export function buildIssuerBundle(target: BundleTarget, { cache = false } = {}): string {
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
    external: t.external,
    target: "es2022",
    charset: "utf8",
    legalComments: "eof",
    sourcemap: false,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced no output for the ${target} issuer`);
  if (!t.terser) return file.text;
  return cache ? cachedTerser(file.text) : terser(file.text);
}

function terser(code: string): string {
  const minified = minify_sync(code, TERSER_OPTIONS);
  if (minified.code === undefined) throw new Error("terser produced no output for the issuer");
  return minified.code;
}

function cachedTerser(code: string): string {
  const { version } = JSON.parse(
    readFileSync(path.join(ROOT, "node_modules", "terser", "package.json"), "utf8"),
  ) as { version: string };
  const key = createHash("sha256")
    .update(JSON.stringify([version, TERSER_OPTIONS, code]))
    .digest("hex");
  const file = path.join(TERSER_CACHE, `${key}.js`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    const minified = terser(code);
    try {
      mkdirSync(TERSER_CACHE, { recursive: true });
      // Written whole, then renamed: tests run in parallel, and a reader must never see half a file.
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, minified);
      renameSync(partial, file);
    } catch {
      // A read-only checkout only loses the cache.
    }
    return minified;
  }
}

/** One package as package-lock.json pins it. */
export interface LockedPackage {
  name: string;
  version: string;
  integrity: string;
  resolved?: string;
  license?: string;
}

/** The package-lock.json entries of NODE_RUNTIME_PACKAGES, as the VM must install them. */
export function lockedRuntimePackages(
  lockText = readFileSync(path.join(ROOT, "package-lock.json"), "utf8"),
): LockedPackage[] {
  const lock = JSON.parse(lockText) as { packages?: Record<string, Record<string, unknown>> };
  return NODE_RUNTIME_PACKAGES.map((name) => {
    const entry = lock.packages?.[`node_modules/${name}`];
    if (!entry || typeof entry.version !== "string" || typeof entry.integrity !== "string") {
      throw new Error(
        `package-lock.json has no version and integrity for ${name}, which the VM's issuer installs; run npm install`,
      );
    }
    // The VM's lock lists only NODE_RUNTIME_PACKAGES, so a package with dependencies would install incomplete.
    const deps = Object.keys({ ...(entry.dependencies ?? {}), ...(entry.optionalDependencies ?? {}) });
    if (deps.length > 0) {
      throw new Error(
        `${name}@${entry.version} now depends on ${deps.join(", ")}; add them to NODE_RUNTIME_PACKAGES in infra/render/bundle.ts`,
      );
    }
    return {
      name,
      version: entry.version,
      integrity: entry.integrity,
      ...(typeof entry.resolved === "string" ? { resolved: entry.resolved } : {}),
      ...(typeof entry.license === "string" ? { license: entry.license } : {}),
    };
  });
}
