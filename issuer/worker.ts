import { configFromEnv, IssuerConfigError, type IssuerEnv } from "./config";
import { createHandler, type Handler } from "./handler";
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
  return async () =>
    new Response(
      JSON.stringify({
        error: { code: "misconfigured", message: "the issuer's settings are invalid; see its logs" },
      }),
      { status: 503, headers: { "content-type": "application/json; charset=utf-8" } },
    );
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
