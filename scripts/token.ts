import { parseArgs } from "node:util";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../issuer/claims";
import { HttpError } from "../issuer/errors";
import { parseRoom } from "../issuer/request";
import { userFieldProblem } from "../issuer/userFields";
import { EXIT, exitWith, type Io, processIo } from "./lib/shared/cli";

export const TOKEN_HELP =
  "usage: npm run token -- --room <room> --name <display name> [--moderator] [--ttl <seconds>]\n" +
  "Reads JWT_APP_ID and JWT_APP_SECRET from the environment and prints only the token.";

/** Mints one room token for operators, signed with the stack's JWT secret (or returns the usage for --help). */
async function mintToken(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
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
  if (values.help) return TOKEN_HELP;
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

/**
 * `npm run token`: prints only the token on `io.out` and returns 0, or every problem and the usage on
 * `io.err` and returns 2. Tests call it in-process with captured `io`.
 */
export async function tokenMain(argv: string[], env: NodeJS.ProcessEnv, io: Io = processIo): Promise<number> {
  try {
    io.out(await mintToken(argv, env));
    return EXIT.ok;
  } catch (err) {
    const lines = err instanceof UsageError ? err.problems : [(err as Error).message];
    io.err(`token: ${lines.join("\ntoken: ")}\n${TOKEN_HELP}`);
    return EXIT.usage;
  }
}

if (require.main === module) exitWith(() => tokenMain(process.argv.slice(2), process.env));
