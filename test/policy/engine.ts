import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";

/**
 * Stands in for the Pulumi engine's side of the analyzer protocol: starts the pack exactly as
 * `pulumi preview --policy-pack policy` does (run-policy-pack, cwd = policy/) and sends it
 * Remediate then Analyze requests, marshalled the way the engine marshals them.
 */

const ROOT = path.resolve(__dirname, "../..");
/** Wire signature of a secret value (sdk/go/common/resource/sig). */
const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
/** Wire sentinel of a string not known during preview. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A value the engine sends as a Pulumi secret. */
export const secret = (value: unknown) => ({ ...SECRET_SIG, value });

export interface Violation {
  policy: string;
  message: string;
  level: "advisory" | "mandatory" | "disabled" | "remediate";
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

export interface PolicyPackProcess {
  /** Remediate then Analyze, as the engine's step generator does for each resource. */
  check(type: string, name: string, inputs: Record<string, unknown>): Promise<Violation[]>;
  /** Analyze alone, as when a policy config has lowered the secrets policy to mandatory. */
  analyzeOnly(type: string, name: string, inputs: Record<string, unknown>): Promise<Violation[]>;
  stop(): Promise<void>;
}

function request(type: string, name: string, inputs: Record<string, unknown>): analyzer.AnalyzeRequest {
  const req = new analyzer.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(`urn:pulumi:ci::jitsi-stack::${type}::${name}`);
  req.setProperties(Struct.fromJavaScript(inputs as never));
  req.setOptions(new analyzer.AnalyzerResourceOptions());
  return req;
}

function call<T>(fn: (cb: (err: grpc.ServiceError | null, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

export async function startPolicyPack(): Promise<PolicyPackProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:0", "."],
    { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) =>
      reject(new Error(`policy pack exited with ${code} before serving:\n${stderr}`)),
    );
  });
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  const analyze = async (req: analyzer.AnalyzeRequest): Promise<Violation[]> => {
    const res = await call<analyzer.AnalyzeResponse>((cb) => client.analyze(req, cb));
    return res.getDiagnosticsList().map((d) => ({
      policy: d.getPolicyname(),
      message: d.getMessage(),
      level: LEVELS[d.getEnforcementlevel()]!,
    }));
  };

  return {
    async check(type, name, inputs) {
      const req = request(type, name, inputs);
      const remediated = await call<analyzer.RemediateResponse>((cb) => client.remediate(req, cb));
      if (remediated.getRemediationsList().some((r) => r.getProperties() !== undefined)) {
        throw new Error("the pack changed a resource's inputs; its policies must only report");
      }
      return analyze(req);
    },
    analyzeOnly: (type, name, inputs) => analyze(request(type, name, inputs)),
    async stop() {
      client.close();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
