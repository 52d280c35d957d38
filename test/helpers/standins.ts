import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * A folder of stand-in commands for the VM scripts' tests, put first on PATH. Each stand-in is a short
 * shell script; `logged` ones also append their arguments to `<dir>/calls.log`, one call a line.
 */
export class StandIns {
  readonly dir: string;
  readonly log: string;

  constructor(dir: string) {
    this.dir = dir;
    this.log = path.join(dir, "calls.log");
    mkdirSync(dir, { recursive: true });
    writeFileSync(this.log, "");
  }

  /** Defines `name`: logs `name args...`, then runs `body` (sh) with the same arguments. */
  logged(name: string, body = "exit 0"): this {
    return this.raw(name, `printf '%s\\n' "${name} $*" >>"${this.log}"\n${body}`);
  }

  raw(name: string, body: string): this {
    const file = path.join(this.dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return this;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.dir}:${process.env.PATH ?? "/usr/bin:/bin"}`, ...extra };
  }
}
