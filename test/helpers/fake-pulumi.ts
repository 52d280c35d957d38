import type { CommandResult, CommandRunner, RunOptions } from "../../scripts/lib/shared/runner";
import type { StackOutputs } from "../../scripts/lib/shared/stack-outputs";

/** Outputs shaped like infra/index.ts exports them. */
export function sampleOutputs(overrides: Partial<StackOutputs> = {}): StackOutputs {
  return {
    meetingUrl: "https://meet.example.com/",
    domain: "meet.example.com",
    ipv4: "203.0.113.10",
    ipv6: "2001:db8::1",
    serverId: "4711",
    sshUser: "root",
    sshHost: "203.0.113.10",
    sshCommand: "ssh root@203.0.113.10",
    jitsiDir: "/opt/jitsi",
    jitsiRelease: "stable-11146-2",
    jitsiCommit: "738058b44bc3029ea289bea180cd3838f702af8e",
    jwtAppId: "jitsi-stack",
    jwtAppSecret: "s3cret-never-printed-0123456789abcdef",
    deleteProtection: false,
    guestsEnabled: false,
    environment: "dev",
    ...overrides,
  };
}

export const resource = (type: string, name: string, extra: Record<string, unknown> = {}) => ({
  urn: `urn:pulumi:dev::jitsi-stack::${type}::${name}`,
  type,
  id: `${name}-id`,
  ...extra,
});

/**
 * Stands in for the Pulumi CLI: answers `stack output`, `stack export` (the state before and after the
 * destroy) and `destroy`, and records every call in order.
 */
export function fakePulumi(options: {
  outputs?: unknown;
  outputsExitCode?: number;
  before?: unknown[];
  after?: unknown[];
  destroyExitCode?: number;
  onDestroy?: () => void;
}) {
  const calls: string[] = [];
  /** The options `pulumi destroy` ran with (its environment), once it ran. */
  let destroyOptions: RunOptions | undefined;
  let destroyed = false;
  const ok = (stdout: string, exitCode = 0): CommandResult => ({
    exitCode,
    stdout,
    stderr: exitCode ? "error: boom" : "",
  });
  const run: CommandRunner = async (file, args, runOptions) => {
    calls.push([file, ...args].join(" "));
    if (args[0] === "stack" && args[1] === "output")
      return ok(JSON.stringify(options.outputs ?? sampleOutputs()), options.outputsExitCode);
    if (args[0] === "stack" && args[1] === "export") {
      const resources = destroyed ? (options.after ?? []) : (options.before ?? []);
      return ok(JSON.stringify({ version: 3, deployment: { resources } }));
    }
    if (args[0] === "destroy") {
      destroyOptions = runOptions;
      options.onDestroy?.();
      destroyed = true;
      return ok("", options.destroyExitCode ?? 0);
    }
    return ok("", 1);
  };
  return {
    run,
    calls,
    destroyOptions: () => destroyOptions,
  };
}
