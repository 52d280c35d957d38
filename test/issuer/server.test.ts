import { randomBytes } from "node:crypto";
import type http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv } from "../../issuer/config";
import { createIssuer, type LogEntry } from "../../issuer/handler";
import { failureLimiter, memoryLimiter } from "../../issuer/rateLimit";
import { clientOf, createNodeServer, NODE_SERVER_LIMITS, peerOf } from "../../issuer/server";
import { inParallel, request } from "./client";
import { httpRequest, RawConnection, type RawResponse, rawExchange } from "./rawHttp";

/**
 * The Node server's own layer, with real sockets on 127.0.0.1: what it reads, when it closes, and
 * how it answers requests its HTTP parser refuses. The server runs in this process, so the tests can
 * count the bytes it read from each connection.
 */

const KEY = randomBytes(32).toString("hex");

interface InProcess {
  baseUrl: string;
  server: http.Server;
  logs: LogEntry[];
  unreadable: unknown[];
  /** Every connection the server accepted, to read its bytesRead. */
  sockets: Socket[];
  close: () => Promise<void>;
}

async function startInProcess(limits: Partial<typeof NODE_SERVER_LIMITS> = {}): Promise<InProcess> {
  const config = configFromEnv({
    JWT_APP_ID: "jitsi-stack",
    JWT_APP_SECRET: randomBytes(32).toString("hex"),
    JITSI_DOMAIN: "meet.example.com",
    ISSUER_API_KEYS: KEY,
    ISSUER_RATE_LIMIT_PER_MINUTE: "10000",
  });
  const logs: LogEntry[] = [];
  const unreadable: unknown[] = [];
  const sockets: Socket[] = [];
  const issuer = await createIssuer(config, {
    rateLimiter: memoryLimiter(10_000),
    // Every test client comes from 127.0.0.1 and many send wrong keys on purpose.
    authFailures: failureLimiter(1_000_000),
    log: (e) => logs.push(e),
  });
  const server = createNodeServer(issuer, { onError: (err) => unreadable.push(err), limits });
  server.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    logs,
    unreadable,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let node: InProcess;
beforeAll(async () => {
  node = await startInProcess();
});
afterAll(() => node.close());

/** The server's end of a client connection, once the server has accepted it. */
const serverEnd = (server: InProcess, client: RawConnection) =>
  waitFor(
    () => server.sockets.find((s) => s.remotePort === client.socket.localPort),
    "the server to accept the connection",
  );

async function waitFor<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const BODY = JSON.stringify({ room: "r", user: { name: "Ada" } });
const tokenRequest = (headers: string[], body = BODY) =>
  httpRequest(
    [
      "POST /v1/token HTTP/1.1",
      "Host: issuer.test",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...headers,
    ],
    body,
  );
const errorOf = (r: RawResponse | undefined) =>
  r && r.body ? (JSON.parse(r.body) as { error?: { code?: string; message?: string } }).error : undefined;

describe("Node server: bodies it does not need", () => {
  it("logs a client that hangs up mid-body as a refused 400, not an internal error", async () => {
    const socket = net.connect(Number(new URL(node.baseUrl).port), "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      [
        "POST /v1/token HTTP/1.1",
        "Host: 127.0.0.1",
        `Authorization: Bearer ${KEY}`,
        "Content-Type: application/json",
        "Content-Length: 500",
        "",
        '{"room":',
      ].join("\r\n"),
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const entry = await waitFor(
      () => node.logs.find((l) => l.path === "/v1/token" && l.code === "body_incomplete"),
      "the log line of the abandoned request",
    );
    expect(entry).toMatchObject({ event: "request_refused", status: 400, code: "body_incomplete" });
    expect(node.logs.filter((l) => l.event === "internal_error")).toEqual([]);
  });

  const endless = [
    {
      what: "a declared 100 GB body without credentials (refused before sign-in)",
      head: ["Content-Length: 100000000000"],
      chunked: false,
      answer: [413, "body_too_large"],
    },
    {
      what: "a chunked body without credentials",
      head: ["Transfer-Encoding: chunked"],
      chunked: true,
      answer: [401, "missing_credentials"],
    },
    {
      what: "a chunked body with wrong credentials",
      head: ["Transfer-Encoding: chunked", `Authorization: Bearer ${"0".repeat(64)}`],
      chunked: true,
      answer: [401, "invalid_credentials"],
    },
    {
      what: "a chunked body with a valid key, past the 8 KiB cap",
      head: ["Transfer-Encoding: chunked", `Authorization: Bearer ${KEY}`],
      chunked: true,
      answer: [413, "body_too_large"],
    },
    {
      what: "a declared body to the health check",
      head: ["Content-Length: 100000000000"],
      chunked: false,
      answer: [405, "method_not_allowed"],
      path: "/healthz",
    },
  ];
  it.each(endless)("stops reading $what and closes the connection", async (c) => {
    const connection = await RawConnection.open(node.baseUrl);
    const served = await serverEnd(node, connection);
    connection.write(
      httpRequest([
        `POST ${c.path ?? "/v1/token"} HTTP/1.1`,
        "Host: issuer.test",
        "Content-Type: application/json",
        ...c.head,
      ]),
    );
    const piece = Buffer.from(c.chunked ? `4000\r\n${" ".repeat(0x4000)}\r\n` : " ".repeat(0x4000));
    const offered = 1024 ** 3;
    const accepted = await connection.stream(piece, offered);
    connection.close();
    await waitFor(() => (served.destroyed ? true : undefined), "the server to close the connection");
    // What the server read is bounded by its buffers, not by what the client offers.
    expect(served.bytesRead).toBeLessThan(1024 ** 2);
    expect(accepted).toBeLessThan(offered);
    const answer = connection.responses()[0];
    expect([answer?.status, errorOf(answer)?.code]).toEqual(c.answer);
    expect(answer?.headers.connection).toBe("close");
  });

  it("keeps serving legitimate clients while two others stream endless unauthenticated bodies", async () => {
    let attacking = true;
    let attackConnections = 0;
    const attacker = async () => {
      while (attacking) {
        const connection = await RawConnection.open(node.baseUrl);
        attackConnections++;
        connection.write(
          httpRequest([
            "POST /v1/token HTTP/1.1",
            "Host: issuer.test",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
          ]),
        );
        await connection.stream(Buffer.from(`4000\r\n${" ".repeat(0x4000)}\r\n`), 1024 ** 3);
        connection.close();
      }
    };
    const before = node.sockets.length;
    const attacks = [attacker(), attacker()];
    const statuses = await inParallel(Array.from({ length: 200 }), 4, async () => {
      const res = await request(`${node.baseUrl}/v1/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: BODY,
      });
      await res.arrayBuffer();
      return res.status;
    });
    attacking = false;
    await Promise.all(attacks);
    expect(new Set(statuses)).toEqual(new Set([200]));
    // Each attacking connection cost the server a bounded read, however long the attacker streamed.
    const read = node.sockets.slice(before).reduce((sum, s) => sum + s.bytesRead, 0);
    const connections = node.sockets.length - before;
    expect(attackConnections).toBeGreaterThan(0);
    expect(read / connections).toBeLessThan(1024 ** 2);
  });

  it("keeps the connection when the whole body arrived, or when the rest is declared and small", async () => {
    const connection = await RawConnection.open(node.baseUrl);
    connection.write(tokenRequest([`Authorization: Bearer ${KEY}`]));
    await connection.until(() => connection.responses().length === 1);
    connection.write(tokenRequest([`Authorization: Bearer ${"0".repeat(64)}`]));
    await connection.until(() => connection.responses().length === 2);
    // A wrong key with a small declared body that has not all arrived: the rest is read and dropped.
    connection.write(tokenRequest([`Authorization: Bearer ${"1".repeat(64)}`]).slice(0, -10));
    await connection.until(() => connection.responses().length === 3);
    connection.write(BODY.slice(-10));
    connection.write(tokenRequest([`Authorization: Bearer ${KEY}`, "Connection: close"]));
    await connection.closedWithin();
    connection.close();
    expect(connection.responses().map((r) => [r.status, r.headers.connection])).toEqual([
      [200, "keep-alive"],
      [401, "keep-alive"],
      [401, "keep-alive"],
      [200, "close"],
    ]);
  });
});

describe("Node server: reading the body", () => {
  /** The events listened for on each request the server gets while `run` runs. */
  async function listenedFor(run: () => Promise<void>): Promise<string[][]> {
    const seen: string[][] = [];
    const spy = (req: http.IncomingMessage) => {
      const events: string[] = [];
      seen.push(events);
      req.on("newListener", (event: string) => events.push(event));
    };
    node.server.prependListener("request", spy);
    try {
      await run();
    } finally {
      node.server.off("request", spy);
    }
    return seen;
  }

  it("takes a body that came with its headers from the request's buffer, without streaming it", async () => {
    let answers: RawResponse[] = [];
    const seen = await listenedFor(async () => {
      ({ responses: answers } = await rawExchange(
        node.baseUrl,
        tokenRequest([`Authorization: Bearer ${KEY}`]),
      ));
    });
    expect(answers.map((r) => r.status)).toEqual([200]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toContain("data");
  });

  it("waits for the rest of a declared body that has not all arrived, then issues the token", async () => {
    const connection = await RawConnection.open(node.baseUrl);
    const whole = tokenRequest([`Authorization: Bearer ${KEY}`]);
    const seen = await listenedFor(async () => {
      connection.write(whole.slice(0, -10));
      await new Promise((r) => setTimeout(r, 100));
      connection.write(whole.slice(-10));
      await connection.until(() => connection.responses().length === 1);
    });
    connection.close();
    expect(connection.responses().map((r) => r.status)).toEqual([200]);
    // Streamed: the buffer held part of the declared body when the core asked for it.
    expect(seen[0]).toContain("data");
  });

  it("streams a chunked body even when all of it came with the headers", async () => {
    const chunked = httpRequest(
      [
        "POST /v1/token HTTP/1.1",
        "Host: issuer.test",
        "Content-Type: application/json",
        `Authorization: Bearer ${KEY}`,
        "Transfer-Encoding: chunked",
      ],
      `${Buffer.byteLength(BODY).toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
    );
    let answers: RawResponse[] = [];
    const seen = await listenedFor(async () => {
      ({ responses: answers } = await rawExchange(node.baseUrl, chunked));
    });
    expect(answers.map((r) => r.status)).toEqual([200]);
    expect(seen[0]).toContain("data");
  });
});

describe("Node server: Expect: 100-continue", () => {
  const expecting = (authorization: string) =>
    httpRequest([
      "POST /v1/token HTTP/1.1",
      "Host: issuer.test",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(BODY)}`,
      "Expect: 100-continue",
      authorization,
    ]);

  it.each([
    ["no credentials", "X-None: 1", 401],
    ["a wrong key", `Authorization: Bearer ${"0".repeat(64)}`, 401],
    ["an unknown route", `Authorization: Bearer ${KEY}`, 404],
  ])("answers %s without 100 Continue, and closes", async (_what, authorization, status) => {
    const connection = await RawConnection.open(node.baseUrl);
    connection.write(
      status === 404 ? expecting(authorization).replace("/v1/token", "/v1/nope") : expecting(authorization),
    );
    expect(await connection.closedWithin()).toBe(true);
    connection.close();
    expect(connection.text()).not.toMatch(/^HTTP\/1\.1 100/);
    expect(connection.responses().map((r) => r.status)).toEqual([status]);
  });

  it("sends 100 Continue once the key is accepted, then reads the body and issues the token", async () => {
    const connection = await RawConnection.open(node.baseUrl);
    connection.write(expecting(`Authorization: Bearer ${KEY}`));
    expect(await connection.until((t) => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(t))).toBe(true);
    connection.write(BODY);
    await connection.until(() => connection.responses().length === 2);
    connection.close();
    expect(connection.responses().map((r) => r.status)).toEqual([100, 200]);
  });

  it("answers any other expectation with a JSON 417", async () => {
    const { responses } = await rawExchange(
      node.baseUrl,
      tokenRequest([`Authorization: Bearer ${KEY}`, "Expect: 200-ok"]),
    );
    expect([responses[0]?.status, errorOf(responses[0])?.code]).toEqual([417, "expectation_failed"]);
  });
});

describe("Node server: refusals of the HTTP parser are JSON", () => {
  const bigHeader = `X-Filler: ${"f".repeat(NODE_SERVER_LIMITS.maxHeaderSize)}`;
  const cases: Array<[string, string, number, string]> = [
    [
      "a bad chunk size",
      httpRequest(
        ["POST /v1/token HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
        "zz\r\nhello\r\n0\r\n\r\n",
      ),
      400,
      "bad_request",
    ],
    [
      "two different Content-Lengths",
      httpRequest(["POST /v1/token HTTP/1.1", "Host: x", "Content-Length: 2", "Content-Length: 3"], "{}"),
      400,
      "bad_request",
    ],
    [
      "Content-Length and Transfer-Encoding together",
      httpRequest(
        ["POST /v1/token HTTP/1.1", "Host: x", "Content-Length: 5", "Transfer-Encoding: chunked"],
        "0\r\n\r\n",
      ),
      400,
      "bad_request",
    ],
    [
      "a negative Content-Length",
      httpRequest(["POST /v1/token HTTP/1.1", "Host: x", "Content-Length: -1"]),
      400,
      "bad_request",
    ],
    ["a bad method", httpRequest(["FOO@ /healthz HTTP/1.1", "Host: x"]), 400, "bad_request"],
    ["a bad HTTP version", httpRequest(["GET /healthz HTTP/9.9", "Host: x"]), 400, "bad_request"],
    [
      "a space in a header name",
      httpRequest(["GET /healthz HTTP/1.1", "Host: x", "Bad Header: 1"]),
      400,
      "bad_request",
    ],
    [
      "a control character in a header value",
      httpRequest(["GET /healthz HTTP/1.1", "Host: x", "X-A: a\u0001b"]),
      400,
      "bad_request",
    ],
    ["a bare LF line end", "GET /healthz HTTP/1.1\nHost: x\n\n", 400, "bad_request"],
    [
      "a header line without a colon",
      httpRequest(["GET /healthz HTTP/1.1", "Host: x", "NoColon"]),
      400,
      "bad_request",
    ],
    [
      "headers over the size limit",
      httpRequest(["GET /healthz HTTP/1.1", "Host: x", bigHeader]),
      431,
      "headers_too_large",
    ],
    [
      "a request line over the size limit",
      httpRequest([`GET /${"a".repeat(NODE_SERVER_LIMITS.maxHeaderSize)} HTTP/1.1`, "Host: x"]),
      431,
      "headers_too_large",
    ],
    ["binary garbage", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003", 400, "bad_request"],
    [
      "Transfer-Encoding gzip, chunked (read as plain text before)",
      httpRequest(
        [
          "POST /v1/token HTTP/1.1",
          "Host: x",
          `Authorization: Bearer ${KEY}`,
          "Content-Type: application/json",
          "Transfer-Encoding: gzip, chunked",
        ],
        `${Buffer.byteLength(BODY).toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
      ),
      501,
      "unsupported_transfer_encoding",
    ],
    [
      "Transfer-Encoding chunked twice",
      httpRequest(
        [
          "POST /v1/token HTTP/1.1",
          "Host: x",
          `Authorization: Bearer ${KEY}`,
          "Transfer-Encoding: chunked",
          "Transfer-Encoding: chunked",
        ],
        "0\r\n\r\n",
      ),
      400,
      "bad_request",
    ],
    [
      "Transfer-Encoding identity",
      httpRequest(
        ["POST /v1/token HTTP/1.1", "Host: x", `Authorization: Bearer ${KEY}`, "Transfer-Encoding: identity"],
        "",
      ),
      501,
      "unsupported_transfer_encoding",
    ],
    ["HTTP/1.1 without Host", httpRequest(["GET /healthz HTTP/1.1"]), 400, "missing_host"],
  ];

  it.each(cases.map(([what, data, status, code]) => ({ what, data, status, code })))(
    "answers $what with a JSON $status and closes",
    async ({ data, status, code }) => {
      const connection = await RawConnection.open(node.baseUrl);
      connection.write(data);
      expect(await connection.closedWithin()).toBe(true);
      connection.close();
      const [answer, ...more] = connection.responses();
      expect([answer?.status, errorOf(answer)?.code]).toEqual([status, code]);
      expect(typeof errorOf(answer)?.message).toBe("string");
      expect(answer?.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(more).toEqual([]);
    },
  );

  it("accepts plain chunked bodies in any letter case", async () => {
    const { responses } = await rawExchange(
      node.baseUrl,
      httpRequest(
        [
          "POST /v1/token HTTP/1.1",
          "Host: x",
          `Authorization: Bearer ${KEY}`,
          "Content-Type: application/json",
          "Transfer-Encoding: Chunked",
          "Connection: close",
        ],
        `${Buffer.byteLength(BODY).toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
      ),
    );
    expect(responses.at(-1)?.status).toBe(200);
  });

  it("never writes into an answer under way when a pipelined request is malformed", async () => {
    const connection = await RawConnection.open(node.baseUrl);
    connection.write(tokenRequest([`Authorization: Bearer ${KEY}`]) + "FOO@ / HTTP/1.1\r\n\r\n");
    expect(await connection.closedWithin()).toBe(true);
    connection.close();
    // Whole responses only: the 200 (if it went out first) and the JSON 400, never one inside the other.
    const responses = connection.responses();
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([400]);
    expect(connection.text().match(/HTTP\/1\.1 \d{3}/g)?.length).toBe(responses.length);
  });
});

describe("Node server: timeouts", () => {
  it("uses the documented limits, not Node's defaults", () => {
    expect(NODE_SERVER_LIMITS).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 15_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 16 * 1024,
    });
    expect(node.server.headersTimeout).toBe(NODE_SERVER_LIMITS.headersTimeout);
    expect(node.server.requestTimeout).toBe(NODE_SERVER_LIMITS.requestTimeout);
    expect(node.server.keepAliveTimeout).toBe(NODE_SERVER_LIMITS.keepAliveTimeout);
    expect(node.server.timeout).toBe(0);
  });

  describe("with the timeouts shortened", () => {
    let quick: InProcess;
    beforeAll(async () => {
      quick = await startInProcess({
        headersTimeout: 300,
        requestTimeout: 600,
        keepAliveTimeout: 300,
        connectionsCheckingInterval: 50,
      });
    });
    afterAll(() => quick.close());

    it("answers a client that sends its headers slowly (slowloris) with a JSON 408 and closes", async () => {
      const connection = await RawConnection.open(quick.baseUrl);
      connection.write("POST /v1/token HTTP/1.1\r\nHost: x\r\n");
      const drip = setInterval(() => connection.write("X-Drip: 1\r\n"), 100);
      const closed = await connection.closedWithin();
      clearInterval(drip);
      connection.close();
      expect(closed).toBe(true);
      const answer = connection.responses()[0];
      expect([answer?.status, errorOf(answer)?.code]).toEqual([408, "request_timeout"]);
    });

    it("answers a client whose body trickles past the request timeout with a JSON 408", async () => {
      const connection = await RawConnection.open(quick.baseUrl);
      connection.write(
        httpRequest([
          "POST /v1/token HTTP/1.1",
          "Host: x",
          `Authorization: Bearer ${KEY}`,
          "Content-Type: application/json",
          "Content-Length: 4000",
        ]),
      );
      const drip = setInterval(() => connection.write(" "), 50);
      const closed = await connection.closedWithin();
      clearInterval(drip);
      connection.close();
      expect(closed).toBe(true);
      expect(connection.responses().map((r) => [r.status, errorOf(r)?.code])).toEqual([
        [408, "request_timeout"],
      ]);
    });

    it("closes a kept-alive connection that stays idle", async () => {
      const connection = await RawConnection.open(quick.baseUrl);
      connection.write(httpRequest(["GET /healthz HTTP/1.1", "Host: x"]));
      expect(await connection.closedWithin()).toBe(true);
      connection.close();
      expect(connection.responses().map((r) => r.status)).toEqual([200]);
    });
  });
});

describe("client address for the failed sign-in limit", () => {
  const cases: Array<[string, string | undefined, string | null, string]> = [
    ["nginx on the Docker network passes the client", "172.18.0.4", "198.51.100.7", "198.51.100.7"],
    ["nginx on loopback passes the client", "127.0.0.1", "203.0.113.9", "203.0.113.9"],
    ["IPv4-mapped private peer", "::ffff:10.0.0.2", "203.0.113.9", "203.0.113.9"],
    ["a public peer cannot choose its address", "203.0.113.50", "198.51.100.7", "203.0.113.50"],
    ["a public IPv4-mapped peer cannot either", "::ffff:203.0.113.50", "10.0.0.1", "203.0.113.50"],
    ["a private peer without the header is itself", "172.18.0.4", null, "172.18.0.4"],
    ["a header that is not an address is ignored", "172.18.0.4", "evil, 1.2.3.4", "172.18.0.4"],
    ["IPv6 clients are counted per /64", "127.0.0.1", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"],
    ["a public IPv6 peer, per /64", "2001:db8:9:9:1::2", null, "2001:db8:9:9::/64"],
    ["no peer address at all", undefined, "198.51.100.7", "unknown"],
  ];
  it.each(cases)("%s", (_label, peer, realIp, expected) => {
    expect(clientOf(peerOf(peer), realIp)).toBe(expected);
  });

  it("parses the peer once per connection but reads X-Real-IP on every request: nginx sends many clients down one", async () => {
    const clients: string[] = [];
    const server = createNodeServer(
      {
        handle: async (request) => {
          clients.push(request.client);
          return { status: 200, headers: {}, body: "{}" };
        },
      },
      { onError: () => undefined },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const connection = await RawConnection.open(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      );
      const ask = (...realIp: string[]) =>
        httpRequest(["GET /healthz HTTP/1.1", "Host: x", ...realIp.map((ip) => `X-Real-IP: ${ip}`)]);
      connection.write(ask("198.51.100.7") + ask("2001:db8:1:2::9") + ask() + ask("not an address"));
      expect(await connection.until(() => connection.responses().length === 4)).toBe(true);
      connection.close();
      expect(clients).toEqual(["198.51.100.7", "2001:db8:1:2::/64", "127.0.0.1", "127.0.0.1"]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
