import { readFileSync } from "node:fs";
import { parse, YAMLParseError } from "yaml";

/** A stack file that cannot be read as settings; the message is one line naming the file (and place). */
export class StackFileError extends Error {}

/** A stack's config as the Pulumi CLI hands it to a program: every value a string, secrets named. */
export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
  /** Keys whose `secure:` value cannot be decrypted offline and was replaced by a placeholder. */
  placeholders: string[];
}

/** Stands in for an encrypted value offline: valid for every secret setting (hex, 64 characters). */
export const SECRET_PLACEHOLDER = "0f".repeat(32);

function toPulumiString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

const isSecure = (value: unknown): boolean => !!value && typeof value === "object" && "secure" in value;

/** Replaces `{secure: ...}` values anywhere inside a structured value; reports whether there were any. */
function replaceNestedSecure(value: unknown): { value: unknown; found: boolean } {
  if (isSecure(value)) return { value: SECRET_PLACEHOLDER, found: true };
  if (Array.isArray(value)) {
    const items = value.map(replaceNestedSecure);
    return { value: items.map((i) => i.value), found: items.some((i) => i.found) };
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => [k, replaceNestedSecure(v)] as const);
    return {
      value: Object.fromEntries(entries.map(([k, r]) => [k, r.value])),
      found: entries.some(([, r]) => r.found),
    };
  }
  return { value, found: false };
}

/**
 * Reads Pulumi.<stack>.yaml. Lists and objects become JSON strings, as the CLI passes them.
 * Encrypted values cannot be read offline: each becomes a placeholder (shaped by `placeholderFor`
 * when the whole value is encrypted) and its key is marked secret, as the CLI would.
 */
export function readStackConfig(
  file: string,
  placeholderFor: (key: string, placeholder: string) => string = (_key, placeholder) => placeholder,
): StackConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StackFileError(`${file}: cannot read it (${code ?? (error as Error).message})`, {
      cause: error,
    });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    // The parser's own message runs over several lines with a code excerpt: keep its first line.
    const place = error.linePos ? `${error.linePos[0].line}:${error.linePos[0].col}` : "?";
    const reason = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new StackFileError(`${file}:${place}: not valid YAML: ${reason}`, { cause: error });
  }
  const section = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof section !== "object" || Array.isArray(section)) {
    throw new StackFileError(
      `${file}: 'config' must be a map of settings like 'jitsi:domain: meet.example.com'`,
    );
  }
  const result: StackConfig = { config: {}, secretKeys: [], placeholders: [] };
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    const replaced = isSecure(value)
      ? { value: placeholderFor(key, SECRET_PLACEHOLDER), found: true }
      : replaceNestedSecure(value);
    result.config[key] = toPulumiString(replaced.value);
    if (replaced.found) {
      result.secretKeys.push(key);
      result.placeholders.push(key);
    }
  }
  return result;
}
