import { randomBytes } from "node:crypto";
import type http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromEnv } from "../../issuer/config";
import { createIssuer, type LogEntry } from "../../issuer/handler";
import { memoryLimiter } from "../../issuer/rateLimit";
import { clientAddress, createNodeServer } from "../../issuer/server";

const KEY = randomBytes(32).toString("hex");
const logs: LogEntry[] = [];
const unreadable: unknown[] = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  const config = configFromEnv({
    JWT_APP_ID: "jitsi-stack",
    JWT_APP_SECRET: randomBytes(32).toString("hex"),
    JITSI_DOMAIN: "meet.example.com",
    ISSUER_API_KEYS: KEY,
  });
  const issuer = await createIssuer(config, { rateLimiter: memoryLimiter(100), log: (e) => logs.push(e) });
  server = createNodeServer(issuer, (err) => unreadable.push(err));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function waitFor<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Node server", () => {
  it("logs a client that hangs up mid-body as a refused 400, not an internal error", async () => {
    const socket = net.connect(port, "127.0.0.1");
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
      () => logs.find((l) => l.path === "/v1/token"),
      "the log line of the abandoned request",
    );
    expect(entry).toMatchObject({ event: "request_refused", status: 400, code: "body_incomplete" });
    expect(logs.filter((l) => l.event === "internal_error")).toEqual([]);
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
    expect(clientAddress(peer, realIp)).toBe(expected);
  });
});
