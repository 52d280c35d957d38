/** Every refusal is JSON `{ error: { code, message } }` with a 4xx status; the message says what to fix. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (code: string, message: string): HttpError => new HttpError(400, code, message);

/** The client stopped sending (hung up, or the stream broke) before the body was complete. */
export const bodyIncomplete = (): HttpError =>
  badRequest("body_incomplete", "the body ended before it was complete; send the request again");
