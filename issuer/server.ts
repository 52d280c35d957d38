import http from "node:http";
import { BlockList, type Socket } from "node:net";
import { addressKey, parseAddress } from "./address";
import { MAX_BODY_BYTES } from "./config";
import { badRequest, bodyIncomplete, HttpError } from "./errors";
import { type Issuer, type IssuerResponse, refusal } from "./handler";

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

/** A TCP peer as the failed sign-in limit sees it: worked out once per connection, not per request. */
export interface Peer {
  /** The peer's rate-limit key (issuer/address.ts), or "unknown". */
  key: string;
  /** Whether its X-Real-IP header can be believed (isProxyPeer). */
  proxy: boolean;
}

export const peerOf = (address: string | undefined): Peer => ({
  key: addressKey(address) ?? "unknown",
  proxy: isProxyPeer(address),
});

/**
 * Who the client is, for the failed sign-in limit. Behind the VM's nginx the TCP peer is nginx, so
 * its X-Real-IP names the client; from any other peer the header is ignored, as anyone can send it.
 * The header is read on every request: nginx may send the requests of many clients down one connection.
 */
export function clientOf(peer: Peer, realIp: string | null): string {
  const forwarded = realIp !== null && peer.proxy ? addressKey(realIp) : undefined;
  return forwarded ?? peer.key;
}

type Header = (name: string) => string | null;

/**
 * Whether the whole body waits in the request's buffer: its declared Content-Length is there. With
 * that framing the parser passes on exactly the declared bytes; a chunked body never qualifies.
 */
function bodyBuffered(req: http.IncomingMessage, header: Header): boolean {
  const declared = header("content-length");
  return declared !== null && header("transfer-encoding") === null && req.readableLength === Number(declared);
}

/**
 * Collects at most one byte over the cap, so the core can refuse an oversized body without buffering
 * it all. A client that hangs up mid-body gets a 400 (it will not see it, but the log says why).
 */
function readCapped(req: http.IncomingMessage, header: Header): Promise<Uint8Array> {
  // Usually the whole body came with the headers and waits in the stream's buffer: take it as it is,
  // without the listeners and the turns of the event loop that streaming it would cost. Node marks
  // the request complete only in a later callback of its parser, after the handler's promises have
  // run: a body of the declared length is whole already (the parser passes no byte past it).
  if (!req.destroyed && !req.readableDidRead && (req.complete || bodyBuffered(req, header))) {
    const buffered = req.read() as Buffer | null;
    return Promise.resolve(buffered === null ? new Uint8Array(0) : buffered.subarray(0, MAX_BODY_BYTES + 1));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Most bodies arrive in one chunk, which needs no copy.
    const finish = () =>
      resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).subarray(0, MAX_BODY_BYTES + 1));
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
 * Timeouts and limits of the Node server, chosen instead of Node's defaults, which give a client 60 s
 * to send its headers and 300 s for its request, enforced only every 30 s. No idle-socket timeout
 * (server.timeout): these cover every phase of a connection, answers are small enough to leave at
 * once, and Node would re-arm its timer on every request at a cost of microseconds each.
 */
export const NODE_SERVER_LIMITS = {
  /** Time to send the request line and headers: slow-header (slowloris) clients are cut off. */
  headersTimeout: 10_000,
  /** Time to send the whole request; an 8 KiB body needs a fraction of it even on a poor link. */
  requestTimeout: 15_000,
  /** How long an idle kept-alive connection stays open. nginx (host mode) opens one per request. */
  keepAliveTimeout: 5_000,
  /** How often Node enforces the two request timeouts (its default of 30 s lets a slow client stay 40 s). */
  connectionsCheckingInterval: 1_000,
  /** Request line and headers together: ID tokens with many groups run to several KiB (Node's default). */
  maxHeaderSize: 16 * 1024,
};

export interface NodeServerOptions {
  /** Called with requests the server could not read or refused below the core (bad HTTP, timeouts). */
  onError: (err: unknown) => void;
  /** Overrides of NODE_SERVER_LIMITS; tests shorten the timeouts. */
  limits?: Partial<typeof NODE_SERVER_LIMITS>;
}

/** What the HTTP parser's failures (Node's `clientError`) are answered with; anything else is a 400. */
const PROTOCOL_REFUSALS: Record<string, (limits: typeof NODE_SERVER_LIMITS) => HttpError> = {
  HPE_HEADER_OVERFLOW: (l) =>
    new HttpError(
      431,
      "headers_too_large",
      `the request line and headers must be at most ${l.maxHeaderSize} bytes`,
    ),
  ERR_HTTP_REQUEST_TIMEOUT: (l) =>
    new HttpError(
      408,
      "request_timeout",
      `send the headers within ${l.headersTimeout / 1000} s and the whole request within ${l.requestTimeout / 1000} s`,
    ),
};

/**
 * A whole HTTP/1.1 response written straight to a socket whose request the parser gave up on: Node
 * has no ServerResponse for it. The status line and headers are fixed; the body is JSON.stringify's.
 */
function rawResponse(err: HttpError): string {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  return [
    `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}`,
    "content-type: application/json; charset=utf-8",
    "cache-control: no-store",
    `content-length: ${Buffer.byteLength(body)}`,
    "connection: close",
    "",
    body,
  ].join("\r\n");
}

/** Refusals of the request's framing, which the core never sees: it speaks of headers and bodies. */
function framingRefusal(req: http.IncomingMessage, header: Header): HttpError | undefined {
  const coding = header("transfer-encoding");
  // Node's parser refuses some codings itself (chunked twice); this catches those it lets through.
  // Node's parser accepts "gzip, chunked" and hands the gzip bytes over as if they were the body.
  if (coding !== null && coding.trim().toLowerCase() !== "chunked") {
    return new HttpError(
      501,
      "unsupported_transfer_encoding",
      `send the body with Content-Length, or with 'Transfer-Encoding: chunked' alone (got '${coding}')`,
    );
  }
  // RFC 9112 3.2; Node's own check (requireHostHeader) answers with an empty 400, so it is off.
  if (req.httpVersion === "1.1" && header("host") === null) {
    return badRequest("missing_host", "HTTP/1.1 requests must carry a Host header");
  }
  return undefined;
}

/**
 * Whether the connection may carry another request after this answer. When the answer goes out
 * before the body was read (refused before sign-in, over the cap, ...), Node reads and discards the
 * rest so that the next request can follow: safe only when the rest is declared and within the cap.
 * Otherwise the connection closes, so an unauthenticated client cannot make the server read an
 * endless upload. A client still waiting for `100 Continue` has not sent its body: close too.
 */
function mayKeepAlive(req: http.IncomingMessage, header: Header, awaitingContinue: boolean): boolean {
  if (req.complete) return true;
  if (awaitingContinue) return false;
  const declared = header("content-length");
  return declared !== null && Number(declared) <= MAX_BODY_BYTES;
}

/**
 * Writes an answer. Its headers go to Node as one flat list of names and values, which Node writes
 * as they are: adding Content-Length to the answer's own headers object instead took V8's slow path
 * for a new property (objects of several shapes pass here), about 3 us a request.
 */
function send(res: http.ServerResponse, out: IssuerResponse, keepAlive: boolean): void {
  const head: string[] = [];
  // for-in, not Object.entries: no array per header (plain objects, nothing enumerable inherited).
  for (const name in out.headers) head.push(name, out.headers[name]!);
  // Without a length Node would send the answer chunked, which costs a write and bytes per response.
  if (out.body !== null) head.push("content-length", String(Buffer.byteLength(out.body)));
  if (!keepAlive) head.push("connection", "close");
  res.writeHead(out.status, head);
  res.end(out.body ?? undefined);
}

/**
 * A Node HTTP server over the issuer's core. It skips Web Request/Response objects, whose stream
 * machinery costs more per request in Node than minting the token; the Worker uses `fetchHandler`.
 * Every refusal is JSON, including those of the HTTP parser.
 */
export function createNodeServer(issuer: Issuer, options: NodeServerOptions): http.Server {
  const limits = { ...NODE_SERVER_LIMITS, ...options.limits };
  const { onError } = options;
  /**
   * What the server keeps per connection, in one record found once per request: its peer (the
   * address is parsed once, not per request), its last response, so that a parser error never writes
   * into one half sent, and whether its last answer said it closes: then nothing more is written.
   */
  interface Connection {
    peer: Peer;
    latest?: http.ServerResponse;
    closing: boolean;
  }
  const connections = new WeakMap<Socket, Connection>();
  const connectionOf = (socket: Socket): Connection => {
    let connection = connections.get(socket);
    if (connection === undefined) {
      connection = { peer: peerOf(socket.remoteAddress), closing: false };
      connections.set(socket, connection);
    }
    return connection;
  };
  const answer = (res: http.ServerResponse, out: IssuerResponse, keepAlive: boolean) => {
    if (!keepAlive) connectionOf(res.socket!).closing = true;
    send(res, out, keepAlive);
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) {
    const connection = connectionOf(req.socket);
    connection.latest = res;
    // A client that sent `Expect: 100-continue` gets it only once its credentials are accepted.
    let awaitingContinue = expectsContinue;
    // Every value of every header: Node's own `headers` keeps only the first Authorization and
    // Content-Type, while the core must see repeats to refuse them. When no name came twice (one
    // entry per raw pair), `headers` holds them all already, and Node has built it anyway.
    const { headers } = req;
    const header: Header =
      Object.keys(headers).length * 2 === req.rawHeaders.length
        ? (name) => (headers[name] as string | undefined) ?? null
        : (name) => req.headersDistinct[name]?.join(", ") ?? null;
    try {
      const refused = framingRefusal(req, header);
      if (refused) onError(refused);
      const out = refused
        ? refusal(refused)
        : await issuer.handle({
            method: req.method ?? "GET",
            url: req.url ?? "/",
            header,
            client: clientOf(connection.peer, header("x-real-ip")),
            body: () => {
              if (awaitingContinue) {
                res.writeContinue();
                awaitingContinue = false;
              }
              return readCapped(req, header);
            },
          });
      answer(res, out, mayKeepAlive(req, header, awaitingContinue));
    } catch (err) {
      onError(err);
      if (res.headersSent) return void res.destroy();
      answer(res, refusal(badRequest("bad_request", "the request could not be read")), false);
    }
  }

  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: limits.connectionsCheckingInterval,
      maxHeaderSize: limits.maxHeaderSize,
      requireHostHeader: false,
    },
    (req, res) => void serve(req, res, false),
  );
  server.on("checkContinue", (req, res) => void serve(req, res, true));
  server.on("checkExpectation", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const err = new HttpError(417, "expectation_failed", "the only expectation understood is 100-continue");
    onError(err);
    answer(res, refusal(err), false);
  });
  server.on("clientError", (err: NodeJS.ErrnoException & { reason?: string }, socket: Socket) => {
    onError(err);
    // As Node's own handler: never write into an answer under way, nor to a gone client; and never
    // a second answer after one that said the connection closes.
    const connection = connections.get(socket);
    const current = connection?.latest;
    const underWay = current?.headersSent && !current.writableFinished;
    if (err.code === "ECONNRESET" || !socket.writable || underWay || connection?.closing) {
      return void socket.destroy();
    }
    const refused =
      PROTOCOL_REFUSALS[err.code ?? ""]?.(limits) ??
      badRequest(
        "bad_request",
        `the request is not valid HTTP/1.1: ${err.reason ?? err.code ?? "unreadable"}`,
      );
    socket.end(rawResponse(refused), () => socket.destroy());
  });
  return server;
}
