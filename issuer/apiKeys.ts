/**
 * API key matching in constant time. A plain `===` on a key (or `includes`, a Map lookup, an early
 * return) stops at the first differing byte, so response times would tell an attacker how much of a
 * guess is right. ESLint bans plain comparisons of keys in this file and in auth.ts
 * (eslint.config.mjs); test/issuer/apiKeys.test.ts checks that every word of every key is read.
 */

export interface KnownKey {
  /** The key as keyWords encodes it. */
  words: Uint32Array;
  /** Non-secret name for logs and rate limiting: a fingerprint of the key. */
  id: string;
}

/**
 * Compares a presented key with a known one in time that depends only on the known key's length:
 * no early exit, and a length mismatch is folded into the result instead of returning early.
 */
export function keysEqual(presented: ArrayLike<number>, known: ArrayLike<number>): boolean {
  let diff = presented.length ^ known.length;
  for (let i = 0; i < known.length; i++) diff |= known[i]! ^ (presented[i] ?? 0);
  return diff === 0;
}

/** The id of the known key equal to `presented`. Every key is compared, so the time taken does not depend on which one matched. */
export function matchApiKey(presented: Uint32Array, known: readonly KnownKey[]): string | undefined {
  let match: string | undefined;
  for (const k of known) if (keysEqual(presented, k.words)) match = k.id;
  return match;
}

/**
 * Encodes keys for keysEqual as 32-bit words: the UTF-8 bytes, zero-padded to one width for all
 * keys, then the byte length. Words take a quarter of the steps of bytes (with 50 keys, about 2 us
 * a request instead of 8) with the same guarantee. A presented key longer than the longest known
 * key gets `undefined` at once: that tells only that it is longer than every key.
 */
export function keyWords(keys: readonly string[]): (key: string) => Uint32Array | undefined {
  const encoder = new TextEncoder();
  const byteWidth = 4 * Math.ceil(Math.max(0, ...keys.map((k) => encoder.encode(k).length)) / 4);
  return (key) => {
    // Every UTF-8 character takes at least one byte: a longer text cannot fit (saves encoding it).
    if (key.length > byteWidth) return undefined;
    // One allocation per key, its bytes written through a view (a copy would cost a microsecond).
    const words = new Uint32Array(byteWidth / 4 + 1);
    const { read, written } = encoder.encodeInto(key, new Uint8Array(words.buffer, 0, byteWidth));
    if (read < key.length) return undefined;
    words[words.length - 1] = written;
    return words;
  };
}
