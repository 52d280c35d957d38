import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TOKEN_HELP, tokenMain } from "../../scripts/token";
import { captureIo } from "../helpers/io";
import { checkWithPyJwt } from "../issuer/pyjwt";

const ROOT = path.resolve(__dirname, "..", "..");
const APP_ID = "ops-app";
const SECRET = randomBytes(32).toString("hex");
const ENV = { JWT_APP_ID: APP_ID, JWT_APP_SECRET: SECRET };

/** Runs `npm run token -- <args>` as a real process, as an operator would. */
function spawnToken(args: string[], env: Record<string, string> = ENV) {
  const run = spawnSync("npm", ["run", "--silent", "token", "--", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * The same command in this process (its exported main, with what it prints captured): no npm and Node
 * start-up for each case. The first test and one refusal still run the real `npm run token`.
 */
async function token(args: string[], env: Record<string, string> = ENV) {
  const { io, printed } = captureIo();
  const status = await tokenMain(args, env, io);
  return { status, ...printed() };
}

describe("npm run token", () => {
  it("prints only a token that Prosody's checks accept, for the room, name, moderator flag and TTL asked", async () => {
    const run = spawnToken([
      "--room",
      "Board-Meeting",
      "--name",
      "Ada Lovelace",
      "--moderator",
      "--ttl",
      "900",
    ]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const checked = await checkWithPyJwt(APP_ID, SECRET, run.stdout.trim());
    expect(checked.reason).toBe("");
    expect(checked.claims).toMatchObject({
      room: "board-meeting",
      iss: APP_ID,
      aud: APP_ID,
      sub: "meet.jitsi",
    });
    expect(checked.claims!.context.user).toEqual({
      name: "Ada Lovelace",
      moderator: true,
      affiliation: "owner",
    });
    expect((checked.claims!.exp as number) - (checked.claims!.iat as number)).toBe(900);
  });

  it("makes a non-moderator token with a one-hour TTL by default", async () => {
    const run = await token(["--room", "r", "--name", "Bob"]);
    expect(run.status).toBe(0);
    const checked = await checkWithPyJwt(APP_ID, SECRET, run.stdout.trim());
    expect(checked.reason).toBe("");
    expect(checked.claims!.context.user.moderator).toBe(false);
    expect((checked.claims!.exp as number) - (checked.claims!.iat as number)).toBe(3600);
  });

  it("prints its usage for --help, with exit 0", async () => {
    expect(await token(["--help"], {})).toEqual({ status: 0, stdout: `${TOKEN_HELP}\n`, stderr: "" });
    expect(TOKEN_HELP).toMatch(/^usage: npm run token -- --room <room> --name <display name>/);
  });

  const bad: Array<{ name: string; args: string[]; env?: Record<string, string>; says: RegExp }> = [
    {
      name: "an unknown flag",
      args: ["--room", "r", "--name", "n", "--admin"],
      says: /Unknown option '--admin'/,
    },
    { name: "no room", args: ["--name", "n"], says: /room is required/ },
    { name: "a room with a path", args: ["--room", "a/b", "--name", "n"], says: /--room: room must be/ },
    { name: "no name", args: ["--room", "r"], says: /--name is required/ },
    { name: "a blank name", args: ["--room", "r", "--name", "   "], says: /--name must not be blank/ },
    {
      name: "a name with a right-to-left override",
      args: ["--room", "r", "--name", "Ad\u202Egnp.exe"],
      says: /--name must not hold control or invisible formatting characters \(found U\+202E\)/,
    },
    {
      name: "a name of 129 characters",
      args: ["--room", "r", "--name", "n".repeat(129)],
      says: /at most 128/,
    },
    { name: "a room with a Kelvin sign", args: ["--room", "\u212Aitchen", "--name", "n"], says: /ASCII/ },
    {
      name: "a TTL that is not a number",
      args: ["--room", "r", "--name", "n", "--ttl", "1h"],
      says: /--ttl must be a whole number.*got '1h'/,
    },
    {
      name: "a TTL over a day",
      args: ["--room", "r", "--name", "n", "--ttl", "90000"],
      says: /--ttl must be/,
    },
    { name: "a flag without its value", args: ["--room", "r", "--name"], says: /--name/ },
    { name: "a stray argument", args: ["--room", "r", "--name", "n", "extra"], says: /positional argument/i },
    // The app id comes from the stack's outputs: `pulumi config get` fails when the default is in use.
    ...[undefined, "", "   ", "\t"].map((appId) => ({
      name: `JWT_APP_ID=${JSON.stringify(appId)}`,
      args: ["--room", "r", "--name", "n"],
      env: { JWT_APP_SECRET: SECRET, ...(appId === undefined ? {} : { JWT_APP_ID: appId }) },
      says: /JWT_APP_ID is not set: export JWT_APP_ID=\$\(pulumi stack output jwtAppId\)\n/,
    })),
    {
      name: "no JWT_APP_SECRET",
      args: ["--room", "r", "--name", "n"],
      env: { JWT_APP_ID: APP_ID },
      says: /JWT_APP_SECRET is not set: export JWT_APP_SECRET=\$\(pulumi stack output --show-secrets jwtAppSecret\)/,
    },
    {
      name: "a short JWT_APP_SECRET",
      args: ["--room", "r", "--name", "n"],
      env: { JWT_APP_ID: APP_ID, JWT_APP_SECRET: "short-secret" },
      says: /shorter than 32 bytes/,
    },
  ];
  /** What every refusal shows: the problem, the usage, no token, no secret. */
  function expectRefused(run: { status: number | null; stdout: string; stderr: string }, says: RegExp) {
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(says);
    expect(run.stderr).toContain("usage: npm run token");
    expect(run.stderr).not.toContain(SECRET);
    expect(run.stderr).not.toContain("pulumi config get");
  }

  it.each(bad)(
    "refuses $name with a clear error, a non-zero exit and no token",
    async ({ args, env, says }) => {
      expectRefused(await token(args, env), says);
    },
  );

  it("refuses as a real process too: exit 2, the problem and the usage on stderr", () => {
    const run = spawnToken(["--room", "r"]);
    expectRefused(run, /--name is required/);
    expect(run.status).toBe(2);
  });
});
