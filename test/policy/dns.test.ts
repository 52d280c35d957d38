import { describe, expect, it } from "vitest";
import { proxiedMeetingRecord } from "../../policy/dns";

describe("meeting DNS records are never proxied", () => {
  it("accepts DNS-only records", () => {
    expect(proxiedMeetingRecord({ name: "meet.example.com", type: "A", proxied: false })).toEqual([]);
    expect(proxiedMeetingRecord({ name: "meet.example.com", type: "AAAA" })).toEqual([]);
  });

  it.each(["A", "AAAA", "CNAME"])("flags a proxied %s record and says why", (type) => {
    const [violation] = proxiedMeetingRecord({ name: "meet.example.com", type, proxied: true });
    expect(violation).toContain(`${type} meet.example.com is proxied`);
    expect(violation).toContain("proxied: false");
    expect(violation).toContain("10000/udp");
  });
});
