import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issuerBehaviour, waitFor } from "./behaviour";
import { request } from "./client";
import { hostileBehaviour } from "./hostile";
import { httpRequest, RawConnection, rawExchange } from "./rawHttp";
import { type RunningIssuer, startWorkerIssuer } from "./targets";

issuerBehaviour("Cloudflare Worker in workerd", startWorkerIssuer);
hostileBehaviour("Cloudflare Worker in workerd", startWorkerIssuer);

describe("Worker in workerd with a bad JITSI_DOMAIN binding", () => {
  it("answers every request with 503 misconfigured, logs the binding's problem and issues nothing", async () => {
    const key = randomBytes(32).toString("hex");
    const worker = await startWorkerIssuer({
      JWT_APP_ID: "jitsi-stack",
      JWT_APP_SECRET: randomBytes(32).toString("hex"),
      JITSI_DOMAIN: "https://meet.example.com/",
      ISSUER_API_KEYS: key,
    });
    try {
      const res = await request(`${worker.baseUrl}/v1/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ room: "r", user: { name: "Ada" } }),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: "misconfigured", message: "the issuer's settings are invalid; see its logs" },
      });
      await waitFor(() => worker.logs().includes("misconfigured"));
      expect(worker.logs()).toContain(
        "JITSI_DOMAIN must be the meeting's hostname like meet.example.com, without scheme, port or path (got 'https://meet.example.com/')",
      );
    } finally {
      await worker.stop();
    }
  });
});

/** Where the Node server's own HTTP layer was fixed, what workerd (Cloudflare's runtime) does instead. */
describe("Worker in workerd: the HTTP layer below the issuer", () => {
  const key = randomBytes(32).toString("hex");
  const body = JSON.stringify({ room: "r", user: { name: "Ada" } });
  let worker: RunningIssuer;
  beforeAll(async () => {
    worker = await startWorkerIssuer({
      JWT_APP_ID: "jitsi-stack",
      JWT_APP_SECRET: randomBytes(32).toString("hex"),
      JITSI_DOMAIN: "meet.example.com",
      ISSUER_API_KEYS: key,
    });
  });
  afterAll(() => worker?.stop());

  it("still answers after the test process stalled past workerd's 5 s idle close (the 'fetch failed' flake)", async () => {
    const ask = async () => {
      const res = await request(`${worker.baseUrl}/healthz`);
      await res.text(); // a pooled client reuses a connection only once its answer was read
      return res.status;
    };
    expect(await ask()).toBe(200);
    // Hold the event loop as a loaded machine or a synchronous check does; a pooled client's next
    // request would go out on the connection workerd closed meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_500);
    expect(await ask()).toBe(200);
  }, 20_000);

  it("answers Expect: 100-continue with wrong credentials without 100 Continue", async () => {
    const connection = await RawConnection.open(worker.baseUrl);
    connection.write(
      httpRequest([
        "POST /v1/token HTTP/1.1",
        "Host: issuer.test",
        "Content-Type: application/json",
        `Content-Length: ${body.length}`,
        "Expect: 100-continue",
        `Authorization: Bearer ${"0".repeat(64)}`,
      ]),
    );
    await connection.until(() => connection.responses().some((r) => r.status >= 200));
    connection.close();
    expect(connection.text()).not.toMatch(/^HTTP\/1\.1 100/);
    expect(connection.responses().map((r) => r.status)).toEqual([401]);
  });

  it("refuses Transfer-Encoding other than chunked itself, before the Worker runs, and issues nothing", async () => {
    const { responses, text } = await rawExchange(
      worker.baseUrl,
      httpRequest(
        [
          "POST /v1/token HTTP/1.1",
          "Host: issuer.test",
          `Authorization: Bearer ${key}`,
          "Content-Type: application/json",
          "Transfer-Encoding: gzip, chunked",
        ],
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ),
    );
    expect(responses.at(-1)!.status).toBeGreaterThanOrEqual(400);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});
