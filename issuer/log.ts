/**
 * Log lines for the Node server, collected and written together: at most FLUSH_MS after the first
 * pending line, or at once when MAX_PENDING lines wait. One write per line (`console.log`) makes a
 * system call each time, and wakes whatever reads the server's standard output (Docker, on the VM)
 * each time. Measured on two cores at saturation, a reader copying the pipe into a file (as the
 * bench does) took 12-16 us of CPU per token, beside the server's 230-270, when lines went out once
 * per turn of the event loop; 2 us with this wait. Lines are JSON, one per entry.
 */
export interface BatchedLog {
  log: (entry: object) => void;
  /** Writes what is pending now; the server calls it when it stops and when its process exits. */
  flush: () => void;
}

/** Lines wait at most this long, or until this many are pending (about 60 KiB, under a pipe's 64 KiB). */
export const FLUSH_MS = 100;
export const MAX_PENDING = 256;

export function batchedLog(write: (text: string) => void, fields: Record<string, unknown> = {}): BatchedLog {
  let pending: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const extra = Object.keys(fields).length > 0 ? fields : undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const text = `${pending.join("\n")}\n`;
    pending = [];
    write(text);
  };
  return {
    log: (entry) => {
      // The entry is the log's now: extra fields are added in place, which is cheaper than a copy.
      pending.push(JSON.stringify(extra ? Object.assign(entry, extra) : entry));
      if (pending.length >= MAX_PENDING) flush();
      // Unreferenced: a pending line never keeps the process alive; its exit handler writes it.
      else timer ??= setTimeout(flush, FLUSH_MS).unref();
    },
    flush,
  };
}
