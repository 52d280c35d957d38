import { configFromEnv, IssuerConfigError, type IssuerEnv } from "./config";
import { HttpError } from "./errors";
import { createHandler, type Handler, refusal } from "./handler";
import { bindingLimiter, type RateLimitBinding } from "./rateLimit";

/** Bindings: plain-text and secret-text settings under the env names of issuer/config.ts, plus the limiter. */
export interface WorkerEnv extends IssuerEnv {
  RATE_LIMITER: RateLimitBinding;
}

// Built on the first request of an isolate and reused: the signing key is imported once.
let handler: Promise<Handler> | undefined;

function misconfigured(err: unknown): Handler {
  const problems = err instanceof IssuerConfigError ? err.problems : [(err as Error)?.name ?? "error"];
  console.log(JSON.stringify({ event: "misconfigured", problems }));
  const out = refusal(new HttpError(503, "misconfigured", "the issuer's settings are invalid; see its logs"));
  return async () => new Response(out.body, out);
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    handler ??= (async () => {
      try {
        return await createHandler(configFromEnv(env), { rateLimiter: bindingLimiter(env.RATE_LIMITER) });
      } catch (err) {
        return misconfigured(err);
      }
    })();
    return (await handler)(request);
  },
};
