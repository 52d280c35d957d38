import { describe, expect, it } from "vitest";
import type { LogEntry } from "../../issuer/handler";
import { jsonLineLogger } from "../../issuer/log";

const entry = (n: number) =>
  ({ event: "token_issued", status: 200, method: "POST", path: "/v1/token", ms: n }) as unknown as LogEntry;

describe("the Node issuer's log", () => {
  it("writes one JSON line per entry, batched into one write per event-loop turn", async () => {
    const writes: string[] = [];
    const log = jsonLineLogger((text) => writes.push(text));
    log(entry(1));
    log(entry(2));
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    log(entry(3));
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(2);
    const lines = writes.join("").trimEnd().split("\n");
    expect(lines.map((line) => (JSON.parse(line) as { ms: number }).ms)).toEqual([1, 2, 3]);
  });
});
