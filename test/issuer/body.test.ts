import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../issuer/config";
import { readCappedBody } from "../../issuer/body";

const CHUNK = 1024;

/** A request whose body is `total` bytes from a stream that counts what the reader pulled. */
function streamedRequest(total: number, contentLength?: string) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= total) return c.close();
      pulled += CHUNK;
      c.enqueue(new Uint8Array(CHUNK).fill(0x20));
    },
  });
  const request = new Request("http://issuer.test/v1/token", {
    method: "POST",
    body,
    duplex: "half",
    headers: contentLength === undefined ? {} : { "content-length": contentLength },
  } as RequestInit);
  return { request, pulled: () => pulled };
}

describe("Worker body reading", () => {
  it("stops at the cap and answers 413 even when Content-Length claims a small body", async () => {
    const { request, pulled } = streamedRequest(1024 * 1024, "10");
    expect(request.headers.get("content-length")).toBe("10");
    await expect(readCappedBody(request)).rejects.toMatchObject({ status: 413, code: "body_too_large" });
    expect(pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES + 4 * CHUNK);
  });

  it("stops at the cap and answers 413 for a body without Content-Length", async () => {
    const { request, pulled } = streamedRequest(1024 * 1024);
    await expect(readCappedBody(request)).rejects.toMatchObject({ status: 413, code: "body_too_large" });
    expect(pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES + 4 * CHUNK);
  });

  it("reads a body of exactly the cap, with or without Content-Length", async () => {
    for (const length of [String(MAX_BODY_BYTES), undefined]) {
      const { request } = streamedRequest(MAX_BODY_BYTES, length);
      expect((await readCappedBody(request)).byteLength).toBe(MAX_BODY_BYTES);
    }
  });

  it("answers 400 when the body stream breaks off (client gone), not an internal error", async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent) return c.error(new TypeError("Network connection lost."));
        sent = true;
        c.enqueue(new TextEncoder().encode('{"room":'));
      },
    });
    const request = new Request("http://issuer.test/v1/token", {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    await expect(readCappedBody(request)).rejects.toMatchObject({ status: 400, code: "body_incomplete" });
  });
});
