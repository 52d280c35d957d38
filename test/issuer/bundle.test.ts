import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { bundleIssuer } from "../../infra/render/bundle";

/** Cloudflare counts a Worker's size gzipped; the issuer's budget is 15 KB, read as 15,000 bytes (docs/contributing.md, Benchmark). */
export const WORKER_GZIP_BUDGET = 15_000;

describe("Worker bundle", () => {
  it(`stays within ${WORKER_GZIP_BUDGET} bytes gzipped, at the default and the best compression`, () => {
    const bundle = bundleIssuer("worker");
    expect(gzipSync(bundle).length).toBeLessThanOrEqual(WORKER_GZIP_BUDGET);
    expect(gzipSync(bundle, { level: 9 }).length).toBeLessThanOrEqual(WORKER_GZIP_BUDGET);
  });
});
