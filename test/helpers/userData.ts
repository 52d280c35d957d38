import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Socket } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { which } from "./command";

export interface WrittenFile {
  path: string;
  permissions: string;
  owner?: string;
  /** The file's text, gunzipped when cloud-init gets it compressed (`encoding: gz+b64`). */
  content: string;
  encoding?: string;
}

/** The files a #cloud-config document writes, as the VM ends up with them. */
export function writtenFiles(userData: string): WrittenFile[] {
  const files = (parse(userData) as { write_files?: WrittenFile[] }).write_files ?? [];
  return files.map((file) =>
    file.encoding === "gz+b64"
      ? { ...file, content: gunzipSync(Buffer.from(file.content, "base64")).toString() }
      : file,
  );
}

export interface Answer {
  status: number;
  output: string;
}

/** The worker's validator process, started on first use. */
let validator: SchemaValidator | undefined;

/**
 * One Python process per test worker running test/helpers/cloud_init_schema.py: `cloud-init schema
 * --config-file <file>` through cloud-init's own entry point, for each file named on its stdin. A
 * process per document spent 0.3 s of CPU loading cloud-init for 10 ms of validation, 16 times a run.
 * Idle, it holds nothing open for the worker: it ends when the worker closes its stdin.
 */
class SchemaValidator {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  private stderr = "";

  constructor() {
    this.child = spawn(cloudInitPython(), [path.join(__dirname, "cloud_init_schema.py")], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.waiting.shift()?.resolve(JSON.parse(line) as Answer);
      this.hold();
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    const fail = (why: string) => {
      if (validator === this) validator = undefined;
      const err = new Error(`cloud-init schema's process ${why}: ${this.stderr}`);
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    this.child.once("error", (err) => fail(`failed: ${err.message}`));
    this.child.once("exit", (code) => fail(`exited with ${code}`));
    this.hold();
  }

  /** Keeps the worker's event loop waiting only while an answer is due. */
  private hold(): void {
    const busy = this.waiting.length > 0;
    // A child process's pipes are sockets (net.Socket), which can be unreferenced.
    const pipes = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Socket[];
    for (const handle of [this.child, ...pipes]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }

  check(file: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.hold();
      this.child.stdin.write(`${file}\n`);
    });
  }
}

/** The interpreter the `cloud-init` command on PATH runs under, from its #! line (Debian: /usr/bin/python3). */
function cloudInitPython(): string {
  const command = which("cloud-init");
  if (!command) throw new Error("cloud-init is not on PATH (test/setup/system-packages.ts installs it)");
  const interpreter = /^#!\s*(\S+)/.exec(readFileSync(command, "utf8").split("\n", 1)[0]!)?.[1];
  if (!interpreter) throw new Error(`${command} does not start with a #! line naming its Python`);
  return interpreter;
}

/** `cloud-init schema --config-file <file>`: its exit status and what it printed. */
export function cloudInitSchemaFile(file: string): Promise<Answer> {
  validator ??= new SchemaValidator();
  return validator.check(file);
}

/** Runs Debian's `cloud-init schema` validator on a user-data document. */
export async function cloudInitSchema(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), "cloud-init-schema-"));
  try {
    const target = path.join(dir, "user-data");
    writeFileSync(target, text);
    const { status, output } = await cloudInitSchemaFile(target);
    return { ok: status === 0, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
