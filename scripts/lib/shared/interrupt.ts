/**
 * Clean-up that must run when the user presses Ctrl-C or CI cancels the job (SIGINT/SIGTERM), such as
 * deleting a half-written archive. Handlers run synchronously, then the process exits 128+signal.
 */
const cleanups = new Set<() => void>();
let installed = false;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

export function onInterrupt(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    for (const [signal, number] of Object.entries(SIGNALS)) {
      process.on(signal, () => {
        for (const fn of cleanups) {
          try {
            fn();
          } catch {
            // Keep running the other clean-ups.
          }
        }
        process.stderr.write(`Interrupted by ${signal}; partial and temporary files were removed.\n`);
        process.exit(128 + number);
      });
    }
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
