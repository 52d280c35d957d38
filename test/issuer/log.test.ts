import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { batchedLog, FLUSH_MS, MAX_PENDING_CHARS } from "../../issuer/log";
import { waitFor } from "./behaviour";
import { request } from "./client";
import { startNodeIssuer } from "./targets";

/** A batched log whose writes are kept, in order. */
function recorded(fields?: Record<string, unknown>) {
  const writes: string[] = [];
  return { writes, ...batchedLog((text) => writes.push(text), fields) };
}

describe("the Node server's batched log", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it(`writes pending lines together, ${FLUSH_MS} ms after the first of them`, () => {
    vi.useFakeTimers();
    const log = recorded();
    log.log({ event: "a" });
    vi.advanceTimersByTime(FLUSH_MS / 2);
    log.log({ event: "b" });
    vi.advanceTimersByTime(FLUSH_MS / 2 - 1);
    expect(log.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log.writes).toEqual(['{"event":"a"}\n{"event":"b"}\n']);
    // The next line starts a new wait of its own.
    log.log({ event: "c" });
    vi.advanceTimersByTime(FLUSH_MS - 1);
    expect(log.writes).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(log.writes[1]).toBe('{"event":"c"}\n');
  });

  it(`writes at once when ${MAX_PENDING_CHARS} characters wait, and its timer then writes nothing more`, () => {
    vi.useFakeTimers();
    const log = recorded();
    // Lines of exactly 1 KiB with their newline: the 32nd reaches the cap.
    const line = (i: number) => ({ i, pad: "x".repeat(1024 - JSON.stringify({ i, pad: "" }).length - 1) });
    for (let i = 0; i < 31; i++) log.log(line(i));
    expect(log.writes).toEqual([]);
    log.log(line(31));
    expect(log.writes).toHaveLength(1);
    expect(log.writes[0]).toHaveLength(MAX_PENDING_CHARS);
    const numbers = log.writes[0]!.split("\n")
      .slice(0, -1)
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(numbers).toEqual(Array.from({ length: 32 }, (_, i) => i));
    vi.advanceTimersByTime(10 * FLUSH_MS);
    expect(log.writes).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    // The count starts again after a write: one more line waits for its timer.
    log.log(line(32));
    expect(log.writes).toHaveLength(1);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(log.writes).toHaveLength(2);
  });

  it("writes what is pending when flushed, nothing when nothing is, and adds the worker's fields", () => {
    vi.useFakeTimers();
    const log = recorded({ worker: 2 });
    log.flush();
    expect(log.writes).toEqual([]);
    log.log({ event: "token_issued" });
    log.flush();
    expect(log.writes).toEqual(['{"event":"token_issued","worker":2}\n']);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(log.writes).toHaveLength(1);
  });

  it("leaves no line behind when the server stops before the lines' wait is over", async () => {
    const key = randomBytes(32).toString("hex");
    const issuer = await startNodeIssuer({
      JWT_APP_ID: "jitsi-stack",
      JWT_APP_SECRET: randomBytes(32).toString("hex"),
      JITSI_DOMAIN: "meet.example.com",
      ISSUER_API_KEYS: key,
    });
    try {
      const res = await request(`${issuer.baseUrl}/v1/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ room: "last-words", user: { name: "Ada" } }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    } finally {
      // At once, so the line is still waiting for its timer (unless this machine took 100 ms between
      // the answer and the signal): process.exit cancels the timer, and only the exit hook writes it.
      await issuer.stop();
    }
    const issued = (line: string) =>
      line.includes('"room":"last-words"') && line.includes('"event":"token_issued"');
    await waitFor(() => issuer.logs().split("\n").some(issued));
  });
});
