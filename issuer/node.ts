import { configFromEnv, IssuerConfigError } from "./config";
import { createIssuer } from "./handler";
import { memoryLimiter } from "./rateLimit";
import { createNodeServer } from "./server";

/** `npm run issuer`: the token issuer as a Node HTTP server, configured from the environment (see README). */
async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const issuer = await createIssuer(config, { rateLimiter: memoryLimiter(config.rateLimitPerMinute) });
  const server = createNodeServer(issuer, (err) =>
    console.log(JSON.stringify({ event: "request_unreadable", error: (err as Error)?.name })),
  );
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IssuerConfigError([`PORT must be a port number from 0 to 65535 (got '${process.env.PORT}')`]);
  }
  const host = process.env.HOST ?? "127.0.0.1";
  server.listen(port, host, () => {
    const address = server.address();
    const bound = typeof address === "object" && address ? address.port : port;
    console.log(JSON.stringify({ event: "listening", host, port: bound }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof IssuerConfigError ? err.message : `The token issuer could not start: ${String(err)}`,
  );
  process.exit(1);
});
