import net from "node:net";

/**
 * A client that writes bytes exactly as given, for requests no HTTP library will send: two
 * Authorization headers, bad chunk sizes, a body that never ends. It reads what the server answers
 * and notes when and how the server closed the connection.
 */

export interface RawResponse {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  private received = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  /** The server ended or reset the connection (or it broke). */
  closed = false;
  /** Bytes the kernel accepted from this client before the connection died. */
  bytesWritten = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    const close = () => {
      this.closed = true;
      this.wake();
    };
    socket.on("end", close);
    socket.on("close", close);
    // EPIPE and ECONNRESET are how a server that stopped reading shows itself: not a test failure.
    socket.on("error", close);
  }

  static open(baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(data: string | Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    this.socket.write(bytes, (err) => {
      if (!err) this.bytesWritten += bytes.length;
    });
  }

  /** What the server sent so far, as text. */
  text(): string {
    return this.received.toString("utf8");
  }

  /** Waits until `done` holds for the text received, or the connection closed, or `ms` passed. */
  async until(done: (text: string) => boolean, ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done(this.text())) {
      if (this.closed || Date.now() >= deadline) return done(this.text());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Waits for the server to close the connection; false if it is still open after `ms`. */
  async closedWithin(ms = 10_000): Promise<boolean> {
    await this.until(() => false, ms);
    return this.closed;
  }

  /**
   * Streams `chunk` as fast as the connection takes it, until the server stops reading and the
   * connection dies, or `limit` bytes were accepted. Resolves with the bytes accepted.
   */
  stream(chunk: Buffer, limit: number): Promise<number> {
    return new Promise((resolve) => {
      const pump = () => {
        while (!this.closed && !this.socket.destroyed && this.bytesWritten < limit) {
          const more = this.socket.write(chunk, (err) => {
            if (!err) this.bytesWritten += chunk.length;
          });
          if (!more) return void this.socket.once("drain", pump);
        }
        resolve(this.bytesWritten);
      };
      this.socket.once("close", () => resolve(this.bytesWritten));
      pump();
    });
  }

  /** The complete responses received so far, 1xx included. */
  responses(): RawResponse[] {
    return parseResponses(this.received);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length, chunked, or until close). */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return out;
    const [statusLine = "", ...lines] = rest.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    if (!status) return out;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    let body = rest.subarray(end + 4);
    let next: Buffer;
    if (status < 200 || status === 204 || status === 304) {
      next = body;
      body = Buffer.alloc(0);
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (body.length < length) return out;
      next = body.subarray(length);
      body = body.subarray(0, length);
    } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const lineEnd = body.indexOf("\r\n", at);
        if (lineEnd < 0) return out;
        const size = parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
        if (size === 0) {
          next = body.subarray(lineEnd + 4);
          break;
        }
        if (body.length < lineEnd + 2 + size) return out;
        parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      next = Buffer.alloc(0);
    }
    out.push({ status, headers, body: body.toString("utf8") });
    rest = next;
  }
}

/** One request written as given; resolves with the answers once a final one (2xx-5xx) is complete. */
export async function rawExchange(
  baseUrl: string,
  data: string | Buffer,
  ms = 10_000,
): Promise<{ responses: RawResponse[]; text: string }> {
  const connection = await RawConnection.open(baseUrl);
  try {
    connection.write(data);
    await connection.until(() => connection.responses().some((r) => r.status >= 200), ms);
    return { responses: connection.responses(), text: connection.text() };
  } finally {
    connection.close();
  }
}

/** A request's text from its lines: CRLF line ends, a blank line, then the body. */
export function httpRequest(lines: string[], body = ""): string {
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

/**
 * Sends `requests` (each a complete HTTP/1.1 request, as `httpRequest` writes them) over `connections`
 * kept-alive connections, the next on a connection once its previous answer arrived, and resolves
 * with the status of each answer, in the order of `requests`. For floods of thousands of requests:
 * fetch or undici on a fresh connection per request costs the test process, and the server that
 * accepts each connection, several times the work of the request itself.
 * Not pipelined: with several requests in flight on a connection workerd served one connection at a
 * time and, on a loaded machine, closed the others with requests unanswered (seen after 200 to 7,000
 * answers); one at a time on each of eight connections it never did.
 * Answers must carry a Content-Length, as both issuer targets' do; anything else fails the flood.
 */
export async function keptAliveStatuses(
  baseUrl: string,
  requests: readonly string[],
  connections = 8,
): Promise<number[]> {
  const { hostname, port } = new URL(baseUrl);
  const statuses: number[] = new Array(requests.length);
  let next = 0;
  const drive = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      /** The request written on this connection and not yet answered. */
      let current: number | undefined;
      let received: Buffer = Buffer.alloc(0);
      const send = () => {
        if (next < requests.length) {
          current = next++;
          socket.write(requests[current]!, "latin1");
        } else {
          current = undefined;
          socket.end();
          resolve();
        }
      };
      const fail = (why: string) => {
        socket.destroy();
        reject(new Error(`kept-alive flood: ${why} (request ${current} of ${requests.length} unanswered)`));
      };
      socket.on("connect", send);
      socket.on("data", (chunk: Buffer) => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const [answer] = parseResponses(received);
        if (answer === undefined) return;
        const length = answer.headers["content-length"];
        if (length === undefined) return fail(`an answer without Content-Length: ${answer.status}`);
        if (received.length > received.indexOf("\r\n\r\n") + 4 + Number(length) || current === undefined) {
          return fail(`bytes after the answer: ${received.toString("latin1")}`);
        }
        statuses[current] = answer.status;
        received = Buffer.alloc(0);
        send();
      });
      socket.on("error", (err) => fail(err.message));
      socket.on("close", () => {
        if (current !== undefined) fail("the server closed the connection");
      });
    });
  await Promise.all(Array.from({ length: connections }, drive));
  return statuses;
}
