import { z } from "zod";

/**
 * Building blocks for the settings schema. Pulumi hands every config value over as a string
 * (lists and objects as JSON), so each field parses its string first, then validates.
 */

/** A setting's documentation: one line, an example of a good value, and the default shown to users. */
export interface FieldDoc {
  doc: string;
  example: string;
  /** Human text for the default; absent when the setting is required. */
  default?: string;
  secret?: boolean;
}

/** Accepts the raw config string and parses JSON when it looks like JSON; other strings pass as they are. */
function parseJsonish(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  if (/^[[{]/.test(trimmed) || trimmed === "true" || trimmed === "false" || /^-?\d+$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}

export const boolField = (message: string) => z.preprocess(parseJsonish, z.boolean({ error: message }));

export const intField = (min: number, max: number, message: string) =>
  z.preprocess(
    parseJsonish,
    z
      .number({ error: message })
      .int({ error: message })
      .min(min, { error: message })
      .max(max, { error: message }),
  );

export const listField = <T extends z.ZodType>(item: T, message: string) =>
  z.preprocess(parseJsonish, z.array(item, { error: message }));

export const stringField = (message: string) => z.string({ error: message }).trim();

export { HOSTNAME_RE } from "./hostname";
