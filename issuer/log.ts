/**
 * Log lines for the Node server, collected and written together: at most FLUSH_MS after the first
 * pending line, or at once when MAX_PENDING_CHARS wait. One write per line (`console.log`) makes a
 * system call each time, and wakes whatever reads the server's standard output (Docker, on the VM)
 * each time. Measured on two cores at saturation, a reader copying the pipe into a file (as the
 * bench does) took 12-16 us of CPU per token, beside the server's 230-270, when lines went out once
 * per turn of the event loop; 2-3 us with these limits. Lines are JSON, one per entry.
 */
export interface BatchedLog {
  log: (entry: object) => void;
  /** Writes what is pending now; the Node server calls it from its process's exit event. */
  flush: () => void;
}

/** Lines wait at most this long. */
export const FLUSH_MS = 100;
/**
 * Or until this much text waits (about 160 lines): half of a pipe's 64 KiB buffer, so a reader that
 * keeps up never makes the server wait on its standard output, whose writes to a pipe are synchronous.
 */
export const MAX_PENDING_CHARS = 32 * 1024;

export function batchedLog(write: (text: string) => void, fields: Record<string, unknown> = {}): BatchedLog {
  let pending: string[] = [];
  let chars = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const extra = Object.keys(fields).length > 0 ? fields : undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const text = `${pending.join("\n")}\n`;
    pending = [];
    chars = 0;
    write(text);
  };
  return {
    log: (entry) => {
      // The entry is the log's now: extra fields are added in place, which is cheaper than a copy.
      const line = JSON.stringify(extra ? Object.assign(entry, extra) : entry);
      pending.push(line);
      chars += line.length + 1;
      if (chars >= MAX_PENDING_CHARS) flush();
      // Unreferenced: a pending line never keeps the process alive; its exit handler writes it.
      else timer ??= setTimeout(flush, FLUSH_MS).unref();
    },
    flush,
  };
}
