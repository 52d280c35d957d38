import { parseArgs } from "node:util";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../issuer/claims";
import { HttpError } from "../issuer/errors";
import { parseRoom } from "../issuer/request";
import { userFieldProblem } from "../issuer/userFields";

const USAGE =
  "usage: npm run token -- --room <room> --name <display name> [--moderator] [--ttl <seconds>]\n" +
  "Reads JWT_APP_ID and JWT_APP_SECRET from the environment and prints only the token.";

/** `npm run token`: mints one room token for operators, signed with the stack's JWT secret. */
async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      room: { type: "string" },
      name: { type: "string" },
      moderator: { type: "boolean", default: false },
      ttl: { type: "string", default: "3600" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return USAGE;
  const problems: string[] = [];
  let room = "";
  try {
    room = parseRoom(values.room);
  } catch (err) {
    problems.push(`--room: ${(err as HttpError).message}`);
  }
  const name = values.name?.trim();
  // The same display name rules as the issuer's callers (issuer/userFields.ts).
  const nameProblem = values.name === undefined ? "is required" : userFieldProblem("name", values.name);
  if (nameProblem) problems.push(`--name ${nameProblem}: the display name other participants see`);
  const ttl = Number(values.ttl);
  if (!/^\d+$/.test(values.ttl) || ttl < 60 || ttl > 86400) {
    problems.push(`--ttl must be a whole number of seconds from 60 to 86400 (got '${values.ttl}')`);
  }
  const appId = env.JWT_APP_ID?.trim();
  // A stack output, not `pulumi config get`: the app id has a default that the stack's config does not hold.
  if (!appId) problems.push("JWT_APP_ID is not set: export JWT_APP_ID=$(pulumi stack output jwtAppId)");
  const secret = env.JWT_APP_SECRET ?? "";
  if (Buffer.byteLength(secret, "utf8") < 32) {
    problems.push(
      secret
        ? "JWT_APP_SECRET is shorter than 32 bytes; it must be the stack's secret (pulumi stack output --show-secrets jwtAppSecret)"
        : "JWT_APP_SECRET is not set: export JWT_APP_SECRET=$(pulumi stack output --show-secrets jwtAppSecret)",
    );
  }
  if (problems.length > 0) throw new UsageError(problems);
  const claims = buildRoomClaims(
    { appId: appId! },
    { room, user: { name: name! }, moderator: values.moderator, ttlSeconds: ttl },
    Date.now() / 1000,
  );
  return signRoomToken(await importHmacKey(secret), claims);
}

class UsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

main(process.argv.slice(2), process.env).then(
  (out) => console.log(out),
  (err: unknown) => {
    const lines = err instanceof UsageError ? err.problems : [(err as Error).message];
    console.error(`token: ${lines.join("\ntoken: ")}\n${USAGE}`);
    process.exit(2);
  },
);
