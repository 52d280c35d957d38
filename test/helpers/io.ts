import type { Io } from "../../scripts/lib/shared/cli";

/** An Io that keeps what a script printed, for assertions. */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (line) => void out.push(line), err: (line) => void err.push(line) };
  return { io, out, err, text: () => [...out, ...err].join("\n") };
}
