import type { Io } from "../../scripts/lib/shared/cli";

/** An Io that keeps what a script printed, for assertions. */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (line) => void out.push(line), err: (line) => void err.push(line) };
  /** The two streams as the script run as a process prints them (processIo ends each line). */
  const printed = () => ({
    stdout: out.map((line) => `${line}\n`).join(""),
    stderr: err.map((line) => `${line}\n`).join(""),
  });
  return { io, out, err, text: () => [...out, ...err].join("\n"), printed };
}
