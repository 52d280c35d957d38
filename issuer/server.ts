import http from "node:http";
import { MAX_BODY_BYTES } from "./config";
import type { Issuer } from "./handler";

/** Collects at most one byte over the cap, so the core can refuse an oversized body without buffering it all. */
function readCapped(req: http.IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => resolve(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1));
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.pause();
        finish();
      }
    });
    req.on("end", finish);
    req.on("error", reject);
  });
}

/**
 * A Node HTTP server over the issuer's core. It skips Web Request/Response objects, whose stream
 * machinery costs more per request in Node than minting the token; the Worker uses `issuer.fetch`.
 */
export function createNodeServer(issuer: Issuer, onError: (err: unknown) => void): http.Server {
  return http.createServer(async (req, res) => {
    try {
      const header = (name: string): string | null => {
        const value = req.headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      };
      const out = await issuer.handle({
        method: req.method ?? "GET",
        url: req.url ?? "/",
        header,
        body: () => readCapped(req),
      });
      res.writeHead(out.status, out.headers);
      res.end(out.body ?? undefined);
    } catch (err) {
      onError(err);
      if (!res.headersSent) res.writeHead(400, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ error: { code: "bad_request", message: "the request could not be read" } }));
    }
  });
}
