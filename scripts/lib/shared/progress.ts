import type { Io } from "./cli";

/** Prints "downloaded 12.5 MiB" at most every two seconds while bytes flow, and once at the end. */
export function progressReporter(io: Io, verb: string, intervalMs = 2000) {
  let bytes = 0;
  let last = Date.now();
  const line = () => `  ${verb} ${(bytes / 1048576).toFixed(1)} MiB`;
  return {
    add(count: number) {
      bytes += count;
      if (Date.now() - last >= intervalMs) {
        last = Date.now();
        io.err(line());
      }
    },
    done() {
      io.err(line());
    },
  };
}
