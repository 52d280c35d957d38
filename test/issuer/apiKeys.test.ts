import { randomBytes } from "node:crypto";
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { keysEqual, keyWords, matchApiKey } from "../../issuer/apiKeys";

const ROOT = path.resolve(__dirname, "..", "..");

/** A key whose words count how often each is read: constant time means every word, every time. */
function watched<T extends Uint8Array | Uint32Array>(bytes: T): { key: T; reads: Set<number> } {
  const reads = new Set<number>();
  const key = new Proxy(bytes, {
    get(target, property, receiver) {
      if (typeof property === "string" && /^\d+$/.test(property)) reads.add(Number(property));
      const value = Reflect.get(target, property, receiver === key ? target : receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { key, reads };
}

describe("API key comparison", () => {
  const known = randomBytes(64);

  it.each([
    ["differs in its first byte", Buffer.concat([Buffer.from([known[0]! ^ 1]), known.subarray(1)])],
    ["differs in its last byte", Buffer.concat([known.subarray(0, 63), Buffer.from([known[63]! ^ 1])])],
    ["is one byte short", known.subarray(0, 63)],
    ["is empty", Buffer.alloc(0)],
    ["is longer", Buffer.concat([known, Buffer.from("x")])],
    ["is equal", Buffer.from(known)],
  ])("reads every byte of the known key when the presented one %s", (what, presented) => {
    const { key, reads } = watched(new Uint8Array(known));
    expect(keysEqual(new Uint8Array(presented), key)).toBe(what === "is equal");
    expect(reads.size).toBe(known.length);
  });

  it("compares the presented key with every configured key, even after one matched", () => {
    const texts = Array.from({ length: 4 }, () => randomBytes(24).toString("hex"));
    const encode = keyWords(texts);
    const keys = texts.map((text, i) => ({ ...watched(encode(text)!), id: `k${i}` }));
    keys.forEach((k) => k.reads.clear());
    expect(
      matchApiKey(
        encode(texts[0]!)!,
        keys.map((k) => ({ words: k.key, id: k.id })),
      ),
    ).toBe("k0");
    // 48 bytes in 12 words, and the length word.
    expect(keys.map((k) => k.reads.size)).toEqual([13, 13, 13, 13]);
  });

  it("encodes keys so that only the same key compares equal, whatever the lengths", () => {
    const texts = ["a".repeat(32), "a".repeat(33), `${"a".repeat(31)}\u00e9`, "b".repeat(40)];
    const encode = keyWords(texts);
    const same = (a: string, b: string) => keysEqual(encode(a)!, encode(b)!);
    for (const a of texts) for (const b of texts) expect(same(a, b)).toBe(a === b);
    // A prefix, a key with a NUL where the padding is, and an empty key are other keys.
    expect(same("a".repeat(31), texts[0]!)).toBe(false);
    expect(same(`${"a".repeat(32)}\u0000`, texts[0]!)).toBe(false);
    expect(same("", texts[0]!)).toBe(false);
    // Longer than every known key: no key can match it.
    expect(encode("b".repeat(41))).toBeUndefined();
    expect(encode("b".repeat(40))).toBeDefined();
  });
});

describe("the lint rule against plain comparisons of keys (issuer/auth.ts, issuer/apiKeys.ts)", () => {
  const eslint = new ESLint({ cwd: ROOT });
  const fired = async (code: string, file = "issuer/auth.ts") => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result!.messages.filter((m) => m.ruleId === "no-restricted-syntax").length > 0;
  };

  it.each([
    "for (const k of known) if (presented === k.key) match = k.id;",
    "export const ok = (presented: string, secret: string) => presented == secret;",
    "export const ok = (apiKeys: string[], presented: string) => apiKeys.includes(presented);",
    "export const id = (keyIds: Map<string, string>, presented: string) => keyIds.get(presented);",
    "export const ok = (known: { text: string }[], presented: string) => known.some((k) => k.text === presented);",
    "export function check(token: string, expectedToken: string) { if (token !== expectedToken) throw new Error(); }",
    "export function pick(presented: string) { switch (presented) { default: return 1; } }",
    "export const same = (presented: string, key: string) => presented.localeCompare(key) === 0;",
  ])("fires on %s", async (code) => {
    expect(await fired(code)).toBe(true);
    expect(await fired(code, "issuer/apiKeys.ts")).toBe(true);
  });

  it.each([
    "export const done = (diff: number) => diff === 0;",
    "export const jws = (parts: string[]) => parts.length === 3;",
    "export const azp = (payload: { azp?: string }, audience: string) => payload.azp !== audience;",
    'export const str = (payload: { sub?: unknown }) => typeof payload.sub !== "string";',
  ])("leaves %s alone", async (code) => {
    expect(await fired(code)).toBe(false);
  });

  it("applies to the sign-in code only", async () => {
    expect(await fired("export const ok = (a: string, key: string) => a === key;", "issuer/handler.ts")).toBe(
      false,
    );
  });
});
