/**
 * API key matching in constant time. A plain `===` on a key (or `includes`, a Map lookup, an early
 * return) stops at the first differing byte, so response times would tell an attacker how much of a
 * guess is right. ESLint bans plain comparisons of keys in this file and in auth.ts
 * (eslint.config.mjs); test/issuer/apiKeys.test.ts checks that every byte of every key is read.
 */

export interface KnownKey {
  bytes: Uint8Array;
  /** Non-secret name for logs and rate limiting: a fingerprint of the key. */
  id: string;
}

/**
 * Compares a presented key with a known one in time that depends only on the known key's length:
 * no early exit, and a length mismatch is folded into the result instead of returning early.
 */
export function keysEqual(presented: Uint8Array, known: Uint8Array): boolean {
  let diff = presented.length ^ known.length;
  for (let i = 0; i < known.length; i++) diff |= known[i]! ^ (presented[i] ?? 0);
  return diff === 0;
}

/** The id of the known key equal to `presented`. Every key is compared, so the time taken does not depend on which one matched. */
export function matchApiKey(presented: Uint8Array, known: readonly KnownKey[]): string | undefined {
  let match: string | undefined;
  for (const k of known) if (keysEqual(presented, k.bytes)) match = k.id;
  return match;
}
