import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

const SCRIPT = path.join(__dirname, "prosody_verify.py");

export interface PyJwtResult {
  ok: boolean;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown> & {
    context: { user: Record<string, unknown>; features?: Record<string, boolean> };
  };
  reason: string;
}

/** A pipe of a child process: net.Socket underneath, which can stop holding the event loop open. */
type Pipe = { ref(): void; unref(): void };

/**
 * One `prosody_verify.py --serve` per test process, started on first use: Prosody's checks with Debian's
 * python3-jwt, without a Python start (~0.1 s of CPU) per token, for suites that check dozens.
 * It holds the test process open only while an answer is awaited; it exits when its input closes.
 */
let server: { child: ChildProcessWithoutNullStreams; waiting: Array<(line: string) => void> } | undefined;

function pyJwtServer() {
  if (server && server.child.exitCode === null) return server;
  const child = spawn("/usr/bin/python3", [SCRIPT, "--serve"], { env: { PATH: "/usr/bin:/bin" } });
  const started = { child, waiting: [] as Array<(line: string) => void> };
  let errors = "";
  child.stderr.on("data", (c: Buffer) => (errors += c.toString()));
  // A checker that died answers the waiting calls from its exit handler below; writing to it then
  // fails with EPIPE, which must not become an uncaught error in a worker other test files share.
  child.stdin.on("error", () => {});
  createInterface({ input: child.stdout }).on("line", (line) => {
    started.waiting.shift()?.(line);
    if (started.waiting.length === 0) (child.stdout as unknown as Pipe).unref();
  });
  child.once("exit", (code) => {
    const reason = JSON.stringify({
      ok: false,
      reason: `prosody_verify.py --serve exited ${code}: ${errors}`,
    });
    for (const answer of started.waiting.splice(0)) answer(reason);
  });
  child.unref();
  for (const pipe of [child.stdin, child.stdout, child.stderr]) (pipe as unknown as Pipe).unref();
  server = started;
  return started;
}

/** Checks a token with Debian's python3-jwt the way Prosody does (see prosody_verify.py); answers come in the order tokens were sent. */
export function checkWithPyJwt(appId: string, secret: string, token: string): Promise<PyJwtResult> {
  const { child, waiting } = pyJwtServer();
  return new Promise((resolve) => {
    waiting.push((line) => {
      const answer = JSON.parse(line) as PyJwtResult;
      resolve({ ...answer, reason: answer.reason ?? "" });
    });
    (child.stdout as unknown as Pipe).ref();
    child.stdin.write(`${JSON.stringify({ appId, secret, token })}\n`);
  });
}
