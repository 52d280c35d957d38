import { MAX_BODY_BYTES } from "./config";
import { badRequest, bodyIncomplete, HttpError } from "./errors";

const tooLarge = () =>
  new HttpError(413, "body_too_large", `the body must be at most ${MAX_BODY_BYTES} bytes`);

/**
 * Reads a Web request's body, refusing it with 413 as soon as it passes MAX_BODY_BYTES. The stream
 * is always read with the cap: Content-Length only lets a declared oversized body be refused unread.
 */
export async function readCappedBody(request: Request): Promise<Uint8Array> {
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) throw tooLarge();
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
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) bytes.set(c, (offset += c.byteLength) - c.byteLength);
  return bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a JSON body of at most MAX_BODY_BYTES; every refusal names what to send instead. */
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
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest("invalid_json", "the body is not valid UTF-8 text");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "the body is not valid JSON");
  }
}
