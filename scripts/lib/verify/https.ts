import https from "node:https";
import type { TLSSocket } from "node:tls";
import vm from "node:vm";

export interface HttpsAnswer {
  status: number;
  body: string;
  /** The leaf certificate that passed Node's chain and hostname checks. */
  certificate: { validTo: Date; issuer: string; subject: string };
}

/**
 * GET over HTTPS with full verification (chain and hostname). `ca` replaces the system trust store, for tests
 * with a throwaway CA. A certificate problem rejects with Node's reason code, e.g. CERT_HAS_EXPIRED.
 */
export function httpsGet(url: string, options: { ca?: string; timeoutMs: number }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      // No shared agent: a resumed TLS session presents no certificate, so getPeerCertificate() would be
      // empty on a second run in one process (and the days-left check would read an invalid date).
      { ca: options.ca, rejectUnauthorized: true, timeout: options.timeoutMs, agent: false },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            certificate: {
              validTo: new Date(cert.valid_to),
              issuer: String(cert.issuer?.O ?? cert.issuer?.CN ?? "unknown"),
              subject: String(cert.subject?.CN ?? "unknown"),
            },
          }),
        );
        res.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${options.timeoutMs / 1000} s`)));
    request.on("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code ? `${error.code}: ${error.message}` : error.message)),
    );
  });
}

/**
 * Runs the served config.js in an empty V8 context (no Node globals, time-limited) and returns `config` as
 * plain data: config.js is code that assigns properties step by step, so it cannot be parsed as data.
 */
export function readJitsiConfig(source: string): Record<string, unknown> {
  const script = `${source}\n;JSON.stringify(typeof config === "undefined" ? null : config)`;
  const json = vm.runInNewContext(script, Object.create(null), { timeout: 1000 }) as unknown;
  const parsed = typeof json === "string" ? (JSON.parse(json) as unknown) : null;
  if (parsed === null || typeof parsed !== "object") throw new Error("config.js does not define `config`");
  return parsed as Record<string, unknown>;
}
