import http from "node:http";
import { BlockList } from "node:net";
import { addressKey, parseAddress } from "./address";
import { MAX_BODY_BYTES } from "./config";
import { bodyIncomplete } from "./errors";
import type { Issuer } from "./handler";

/** Peers allowed to name the client in X-Real-IP: nginx on the Docker network, or on loopback. */
const PROXY_PEERS = new BlockList();
for (const [network, prefix] of [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["127.0.0.0", 8],
] as const) {
  PROXY_PEERS.addSubnet(network, prefix, "ipv4");
}
PROXY_PEERS.addSubnet("fc00::", 7, "ipv6");
PROXY_PEERS.addAddress("::1", "ipv6");

/** Whether a TCP peer is a proxy we run (private or loopback), whose X-Real-IP header can be believed. */
export function isProxyPeer(peer: string | undefined): boolean {
  const address = parseAddress(peer);
  return address !== undefined && PROXY_PEERS.check(address.text, address.kind);
}

/**
 * Who the client is, for the failed sign-in limit. Behind the VM's nginx the TCP peer is nginx, so
 * its X-Real-IP names the client; from any other peer the header is ignored, as anyone can send it.
 */
export function clientAddress(peer: string | undefined, realIp: string | null): string {
  const forwarded = realIp !== null && isProxyPeer(peer) ? addressKey(realIp) : undefined;
  return forwarded ?? addressKey(peer) ?? "unknown";
}

/**
 * Collects at most one byte over the cap, so the core can refuse an oversized body without buffering
 * it all. A client that hangs up mid-body gets a 400 (it will not see it, but the log says why).
 */
function readCapped(req: http.IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => resolve(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1));
    const broken = () => reject(bodyIncomplete());
    // The client may have hung up while the request was being authenticated, before anyone listened.
    if (req.destroyed) return broken();
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
    req.on("error", broken);
    // Settles nothing when the body already ended or was cut at the cap: a promise settles once.
    req.on("close", () => {
      if (!req.complete) broken();
    });
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
        repeated: (name) => (req.headersDistinct[name]?.length ?? 0) > 1,
        client: clientAddress(req.socket.remoteAddress, header("x-real-ip")),
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
