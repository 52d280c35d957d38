import { z } from "zod";
import { OperationError } from "./cli";
import type { CommandRunner } from "./runner";

const hostKey = z
  .string()
  .trim()
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/, {
    message: "must be an OpenSSH public key like ssh-ed25519 AAAA... (no host name in front)",
  });

/** The outputs infra/index.ts exports, as far as the Day-2 scripts read them. */
export const StackOutputsSchema = z.object({
  meetingUrl: z.string(),
  domain: z.string(),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
  serverId: z.union([z.string(), z.number()]).optional(),
  sshUser: z.string(),
  sshHost: z.string(),
  jitsiDir: z.string().startsWith("/"),
  jitsiRelease: z.string().optional(),
  jitsiCommit: z.string().optional(),
  jwtAppId: z.string(),
  jwtAppSecret: z.string(),
  deleteProtection: z.boolean(),
  guestsEnabled: z.boolean(),
  /** Optional until infra exports them; verify then expects prejoin and lobby off. */
  prejoinEnabled: z.boolean().optional(),
  lobbyEnabled: z.boolean().optional(),
  environment: z.string().optional(),
  issuerUrl: z.string().optional(),
  issuerApiKeys: z.array(z.string()).optional(),
  /** The TURN relay's hostname; absent when the stack runs none (or was deployed before TURN existed). */
  turnHostname: z.string().optional(),
  sshCommand: z.string().optional(),
  /** The recorders, when recording is on (infra/index.ts). */
  recorders: z
    .array(
      z.object({
        index: z.number(),
        ipv4: z.string(),
        privateIp: z.string(),
        sshHostPublicKey: z.string().optional(),
      }),
    )
    .optional(),
  recordingBucket: z.string().optional(),
  /** The VM's host key, pinned by backup/restore/teardown; optional for stacks deployed before it existed. */
  sshHostPublicKey: hostKey.optional(),
  /** The extra bridges (infra/bridge.ts), absent when the stack has none. */
  bridgeHosts: z
    .array(z.object({ nickname: z.string(), ipv4: z.string(), sshHostPublicKey: hostKey }).passthrough())
    .optional(),
  /** With extra bridges: whether the meeting VM keeps its own. */
  meetingBridge: z.boolean().optional(),
});

export type StackOutputs = z.infer<typeof StackOutputsSchema>;

/** The pinned Jitsi release the outputs name, for a backup manifest when the VM has no release file. */
export function releaseFromOutputs(
  outputs: StackOutputs | undefined,
): { tag: string; commit: string } | null {
  return outputs?.jitsiRelease && outputs.jitsiCommit
    ? { tag: outputs.jitsiRelease, commit: outputs.jitsiCommit }
    : null;
}

/**
 * Reads the stack's outputs with `pulumi stack output --json --show-secrets`. The secrets stay in memory:
 * nothing here prints or stores them.
 */
export async function readStackOutputs(stack: string, run: CommandRunner): Promise<StackOutputs> {
  const result = await run("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack]);
  if (result.exitCode !== 0) {
    const reason = result.stderr.trim().split("\n").pop() || `exit code ${result.exitCode}`;
    throw new OperationError(
      `Could not read the outputs of stack '${stack}' (pulumi stack output: ${reason}). Check the stack name with 'pulumi stack ls' and that you are logged in to its backend.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(result.stdout);
  } catch {
    throw new OperationError(
      `pulumi stack output for '${stack}' did not print JSON; is the Pulumi CLI current?`,
    );
  }
  const parsed = StackOutputsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new OperationError(
      `Stack '${stack}' lacks outputs this script needs (${problems.join("; ")}). Has it been deployed with 'pulumi up'?`,
    );
  }
  return parsed.data;
}
