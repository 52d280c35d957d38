/**
 * JSON as RFC 7493 (I-JSON) restricts it: object member names are unique and strings are
 * well-formed Unicode. `JSON.parse` alone lets the last of two equal keys win silently
 * (`{"moderator":false,"moderator":true}` would mint a moderator token), and turns "\ud800" into a
 * lone surrogate that Prosody's JSON decoder refuses ("Invalid body").
 *
 * No parser library: the Worker bundle has a 15 KB budget. `JSON.parse` still does all the parsing;
 * the scan below only runs over text it has accepted, so it needs to know strings and brackets only.
 */

/** Why a text is not I-JSON, with where: a path like `user.name` or `x[2]`, empty for the whole text. */
export type IJsonProblem =
  | { kind: "syntax" }
  | { kind: "duplicate_key"; key: string; path: string }
  | { kind: "lone_surrogate"; path: string };

/** Matches a lone surrogate only: in `u` mode a valid pair is one code point, not two. */
const LONE_SURROGATE = /\p{Cs}/u;

const child = (path: string, step: string | number): string =>
  typeof step === "number" ? `${path}[${step}]` : path === "" ? step : `${path}.${step}`;

interface Frame {
  /** Keys seen so far, for an object; undefined for an array. */
  keys?: Set<string>;
  /** The enclosing object or array, and this one's place in it: the path is built only for a problem. */
  up?: Frame;
  at?: string | number;
  /** The last key read (objects) or the current index (arrays): names what comes next. */
  step: string | number;
}

const pathOf = (frame: Frame): string => (frame.up ? child(pathOf(frame.up), frame.at!) : "");

/**
 * The first repeated member name, or the first string or key holding a lone surrogate, in a text
 * JSON.parse accepted. Keys are compared unescaped, so `"a"` and `"\u0061"`
 * are the same key. One pass, no recursion. A lone surrogate can only come from a `\u` escape: the
 * text itself was decoded from UTF-8, which cannot carry one.
 */
export function findIJsonProblem(text: string): IJsonProblem | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      for (; text.charCodeAt(end) !== 0x22; end++) {
        if (text.charCodeAt(end) === 0x5c /* \ */) {
          escaped = true;
          end++; // the escaped character, which may be a quote
        }
      }
      const isKey = top?.keys !== undefined && expectKey;
      // Only keys and escaped strings are looked at: a plain value needs no copy.
      if (isKey || escaped) {
        const value = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (escaped && LONE_SURROGATE.test(value)) {
          const where = isKey ? value.replace(LONE_SURROGATE, "\uFFFD") : top?.step;
          return { kind: "lone_surrogate", path: top ? child(pathOf(top), where!) : "" };
        }
        if (isKey) {
          if (top.keys!.has(value)) return { kind: "duplicate_key", key: value, path: pathOf(top) };
          top.keys!.add(value);
          top.step = value;
          expectKey = false;
        }
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const step = c === 0x7b ? "" : 0;
      stack.push({ keys: c === 0x7b ? new Set() : undefined, up: top, at: top?.step, step });
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */ && top) {
      if (top.keys) expectKey = true;
      else top.step = (top.step as number) + 1;
    }
  }
  return undefined;
}

/** Parses I-JSON: the value, or the first reason the text is not I-JSON. */
export function parseIJson(text: string): { value: unknown } | { problem: IJsonProblem } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: { kind: "syntax" } };
  }
  const problem = findIJsonProblem(text);
  return problem ? { problem } : { value };
}
