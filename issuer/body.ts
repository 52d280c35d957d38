import { MAX_BODY_BYTES } from "./config";
import { badRequest, bodyIncomplete, HttpError } from "./errors";
import { parseIJson } from "./json";

export const bodyTooLarge = (): HttpError =>
  new HttpError(413, "body_too_large", `the body must be at most ${MAX_BODY_BYTES} bytes`);

/**
 * Reads a Web request's body, refusing it with 413 as soon as it passes MAX_BODY_BYTES, whatever
 * Content-Length claimed. (A declared length over the cap is refused earlier, before sign-in.)
 */
export async function readCappedBody(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      throw bodyIncomplete();
    }
    if (next.done) break;
    size += next.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge();
    }
    chunks.push(next.value);
  }
  return new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a JSON body of at most MAX_BODY_BYTES as I-JSON (issuer/json.ts): no repeated keys, no
 * lone surrogates. Every refusal names what to send instead.
 */
export async function readJson(
  contentType: string | null,
  body: () => Promise<Uint8Array>,
): Promise<unknown> {
  const type = contentType ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "send the body as JSON with 'Content-Type: application/json'",
    );
  }
  const bytes = await body();
  if (bytes.byteLength > MAX_BODY_BYTES) throw bodyTooLarge();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest("invalid_json", "the body is not valid UTF-8 text");
  }
  const parsed = parseIJson(text);
  if ("value" in parsed) return parsed.value;
  const { problem } = parsed;
  const where = (path: string) => (path === "" ? "the body" : `the body's ${path}`);
  switch (problem.kind) {
    case "syntax":
      throw badRequest("invalid_json", "the body is not valid JSON");
    case "duplicate_key":
      throw badRequest(
        "duplicate_key",
        `${where(problem.path)} has the key ${JSON.stringify(problem.key)} twice; send each key once`,
      );
    case "lone_surrogate":
      throw badRequest(
        "invalid_unicode",
        `${where(problem.path)} is not well-formed Unicode: it holds a lone surrogate`,
      );
  }
}
