import { readFileSync } from "node:fs";
import { parse } from "yaml";

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

/** Reads Pulumi.<stack>.yaml. Lists and objects become JSON strings, as the CLI passes them. */
export function readStackConfig(file: string): StackConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`${file} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const section = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof section !== "object" || Array.isArray(section)) {
    throw new Error(`${file}: 'config' must be a map of settings like 'jitsi:domain: meet.example.com'`);
  }
  const result: StackConfig = { config: {}, secretKeys: [], placeholders: [] };
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    if (value && typeof value === "object" && "secure" in value) {
      result.config[key] = SECRET_PLACEHOLDER;
      result.secretKeys.push(key);
      result.placeholders.push(key);
    } else {
      result.config[key] = toPulumiString(value);
    }
  }
  return result;
}
