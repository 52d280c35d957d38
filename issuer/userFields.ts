import { badRequest, type HttpError } from "./errors";

/**
 * What a token's `context.user` fields may hold. One set of rules for both callers: the body's
 * `user` (API-key callers) and the identity an OIDC ID token carries. Prosody copies these fields
 * into the room and the web client shows `name` to every participant, so they must be text a person
 * can read, and the same text for everyone.
 */

export type UserField = "id" | "name" | "email" | "avatar";

/** Longest value of each field, in characters (code points). */
export const USER_FIELD_MAX: Record<UserField, number> = { id: 256, name: 128, email: 254, avatar: 2048 };

/**
 * Characters no user field may hold:
 * - Cc: C0 and C1 controls and DEL (NUL, tab, newline, escape sequences);
 * - Cf: invisible format characters: bidi overrides and isolates (U+202A-202E, U+2066-2069, which
 *   make "Ad\u202Egnp.exe" read as "Adexe.png"), zero-width space, word joiner, BOM, soft hyphen, tag
 *   characters. Only the zero-width non-joiner and joiner (U+200C, U+200D) stay: Persian and Indic
 *   scripts and emoji sequences need them;
 * - Co: private use, which renders differently (or not at all) from one font to the next;
 * - Cs: lone surrogates, which are not Unicode text at all (Prosody refuses the token);
 * - Zl, Zp: the line and paragraph separators U+2028 and U+2029.
 * Unassigned code points are allowed: which ones are unassigned depends on each runtime's Unicode
 * version, and Node and workerd must give the same answer.
 */
const FORBIDDEN = /[\p{Cc}\p{Co}\p{Cs}\p{Zl}\p{Zp}]|(?![\u200c\u200d])\p{Cf}/u;
/** More than 8 combining marks on one character is "Zalgo" text that spills over other lines. */
const TOO_MANY_MARKS = /\p{M}{9}/u;
const EMAIL_RE = /^[^\s@"<>]+@[^\s@"<>]+\.[^\s@"<>]+$/;
/** Printable ASCII without quotes, angle brackets or backslash: non-ASCII must be percent-encoded. */
const HTTPS_URL_RE = /^https:\/\/[\x21\x23-\x3b\x3d\x3f-\x5b\x5d-\x7e]+$/;

const codePoint = (char: string): string =>
  `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** Rules beyond the shared ones, per field: the reason a value breaks them, or undefined. */
const FIELD_CHECKS: Record<UserField, (value: string) => string | undefined> = {
  id: () => undefined,
  name: (value) => {
    if (value.trim() === "") return "must not be blank";
    if (TOO_MANY_MARKS.test(value)) return "must not stack more than 8 combining marks on one character";
    return undefined;
  },
  email: (value) => (EMAIL_RE.test(value) ? undefined : "must be an email address like ada@example.com"),
  avatar: (value) =>
    HTTPS_URL_RE.test(value) && URL.canParse(value)
      ? undefined
      : "must be an https URL of an image (non-ASCII percent-encoded)",
};

/**
 * Why a user field's value is refused, as words that follow its name ("must be ..."), or undefined
 * when it is accepted. Display names are trimmed first: whitespace at either end is dropped, not
 * refused, as a trailing newline shows nothing.
 */
export function userFieldProblem(field: UserField, value: unknown): string | undefined {
  if (typeof value !== "string") return "must be a string";
  const text = field === "name" ? value.trim() : value;
  const bad = FORBIDDEN.exec(text)?.[0];
  if (bad !== undefined) {
    return /\p{Cs}/u.test(bad)
      ? `is not well-formed Unicode: it holds a lone surrogate (${codePoint(bad)})`
      : `must not hold control or invisible formatting characters (found ${codePoint(bad)})`;
  }
  const length = [...text].length;
  const max = USER_FIELD_MAX[field];
  if (length === 0 && field !== "name") return `must be 1 to ${max} characters`;
  if (length > max) return `must be at most ${max} characters (got ${length})`;
  return FIELD_CHECKS[field](text);
}

/**
 * A user field's accepted value (display names trimmed), or a 400 `invalid_user` naming where the
 * value came from: `user.name` in the body, or `the ID token's 'name' claim`.
 */
export function readUserField(field: UserField, value: unknown, where: string): string {
  const problem = userFieldProblem(field, value);
  if (problem !== undefined) throw invalidUser(`${where} ${problem}`);
  return field === "name" ? (value as string).trim() : (value as string);
}

const invalidUser = (message: string): HttpError => badRequest("invalid_user", message);
