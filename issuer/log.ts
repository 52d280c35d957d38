/**
 * Log lines for the Node server, collected and written once per turn of the event loop. One
 * `console.log` per request formats its arguments and makes a write system call each time: about a
 * tenth of the cost of a request when the server is busy. Lines are JSON, one per entry.
 */
export interface BatchedLog {
  log: (entry: object) => void;
  /** Writes what is pending now; call it before the process exits. */
  flush: () => void;
}

/** Lines wait at most until the next turn of the event loop, or until this many are pending. */
const MAX_PENDING = 256;

export function batchedLog(write: (text: string) => void, fields: Record<string, unknown> = {}): BatchedLog {
  let pending: string[] = [];
  let scheduled = false;
  const extra = Object.keys(fields).length > 0 ? fields : undefined;
  const flush = () => {
    scheduled = false;
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
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
