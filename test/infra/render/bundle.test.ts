import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import {
  buildIssuerBundle,
  bundleIssuer,
  lockedRuntimePackages,
  NODE_RUNTIME_PACKAGES,
} from "../../../infra/render/bundle";

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** The bare module names a bundle imports, such as "jose" or "node:http". */
const importsOf = (bundle: string) =>
  [...bundle.matchAll(/(?:^|[;}])import[^;"]*?from\s*"([^"]+)"/g)].map((m) => m[1]!);
/** Strings only jose's own code carries: the `code` of each of its error classes. */
const JOSE_ERROR_CODES = Object.values(jose.errors).map((e) => e.code);
/** The codes of the jose error classes the issuer imports (issuer/auth.ts), which a bundle with jose keeps. */
const USED_JOSE_ERROR_CODES = [
  ...(
    /import\s*\{([^}]*)\}\s*from\s*"jose\/errors"/.exec(readFileSync("issuer/auth.ts", "utf8"))?.[1] ?? ""
  ).matchAll(/\w+/g),
].map(([name]) => (jose.errors as unknown as Record<string, { code: string }>)[name]!.code);

describe("issuer bundle", () => {
  it("is byte-identical across builds, so an unchanged issuer gives no deploy diff", () => {
    for (const target of ["worker", "node"] as const) {
      // Two real builds. bundleIssuer's is this process's own, or terser's output cached by an earlier
      // run or another test worker (a second terser run costs 1.5 s): either way a build of its own.
      expect(bundleIssuer(target)).toBe(buildIssuerBundle(target));
    }
  });

  it("carries no absolute paths of the build machine", () => {
    for (const target of ["worker", "node"] as const) {
      const bundle = bundleIssuer(target);
      expect(bundle).not.toContain(path.resolve(__dirname, "..", "..", ".."));
      expect(bundle).not.toMatch(/\/(home|root|tmp|work)\//);
    }
  });

  it("keeps the Worker a self-contained ES module, jose included, without Node built-ins", () => {
    const bundle = bundleIssuer("worker");
    expect(bundle).toMatch(/export\s*\{[^}]*as default/);
    expect(importsOf(bundle)).toEqual([]);
    expect(bundle).not.toMatch(/from\s*"node:/);
    // jose travels inside: the error classes the issuer imports from it are in the bundle.
    expect(USED_JOSE_ERROR_CODES.length).toBeGreaterThan(2);
    for (const code of USED_JOSE_ERROR_CODES) expect(bundle).toContain(code);
    // The target for the Worker bundle (docs/contributing.md, Benchmark).
    expect(gzipSync(bundle).length).toBeLessThan(30 * 1024);
  });

  it("leaves jose out of the VM's bundle: it imports the copy the VM installs from our lock", () => {
    const bundle = bundleIssuer("node");
    expect(NODE_RUNTIME_PACKAGES).toEqual(["jose"]);
    const imported = new Set(importsOf(bundle));
    // jose itself or its subpath modules (jose/jws/compact/sign), all from the package the VM installs.
    const packages = [...imported].filter((name) => !name.startsWith("node:"));
    expect(packages.length).toBeGreaterThan(0);
    expect(packages.filter((name) => name !== "jose" && !name.startsWith("jose/"))).toEqual([]);
    for (const code of JOSE_ERROR_CODES) expect(bundle).not.toContain(code);
  });

  it("reads the version and integrity the VM must install from package-lock.json", () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    const jose = lock.packages["node_modules/jose"]!;
    expect(lockedRuntimePackages()).toEqual([
      expect.objectContaining({ name: "jose", version: jose.version, integrity: jose.integrity }),
    ]);
  });

  it("refuses a lock that does not pin jose, or a jose that grew dependencies the VM would not get", () => {
    const lockWith = (entry: object | undefined) =>
      JSON.stringify({ lockfileVersion: 3, packages: entry ? { "node_modules/jose": entry } : {} });
    expect(() => lockedRuntimePackages(lockWith(undefined))).toThrow(
      /package-lock\.json has no version and integrity for jose/,
    );
    expect(() =>
      lockedRuntimePackages(
        lockWith({ version: "9.0.0", integrity: "sha512-AAAA", dependencies: { "some-lib": "^1.0.0" } }),
      ),
    ).toThrow(/jose@9\.0\.0 now depends on some-lib; add them to NODE_RUNTIME_PACKAGES/);
  });
});
