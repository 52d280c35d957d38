import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { INTERNAL_PASSWORDS, type InternalPassword } from "./render/jitsiEnv";

export interface JitsiSecretsArgs {
  /** The configured JWT secret; one is generated when the stack sets none. */
  jwtAppSecret?: pulumi.Output<string>;
  /** The configured issuer API keys; one is generated when the stack sets none. */
  issuerApiKeys?: pulumi.Output<string[]>;
}

/**
 * Every secret the deployment needs. Generated values live in state (RandomPassword results are
 * secret by the provider's schema), so they stay the same across updates and XMPP logins keep working.
 */
export class JitsiSecrets extends pulumi.ComponentResource {
  readonly jwtAppSecret: pulumi.Output<string>;
  readonly issuerApiKeys: pulumi.Output<string[]>;
  readonly passwords: pulumi.Output<Record<InternalPassword, string>>;
  /**
   * The VM's SSH host key. Generated here rather than on the VM, so the operator scripts and CI can
   * pin the public half (a stack output) instead of trusting whatever answers on first contact.
   */
  readonly sshHostKey: { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> };

  constructor(name: string, args: JitsiSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi-stack:secrets:JitsiSecrets", name, {}, opts);
    const generate = (id: string, length: number) =>
      new random.RandomPassword(`${name}-${id}`, { length, special: false }, { parent: this }).result;

    this.jwtAppSecret = pulumi.secret(args.jwtAppSecret ?? generate("jwt-app-secret", 64));
    this.issuerApiKeys = pulumi.secret(
      args.issuerApiKeys ?? generate("issuer-api-key", 48).apply((key) => [key]),
    );
    // Upstream's gen-passwords.sh makes 16 random bytes; 32 alphanumerics carry more than that.
    const generated = INTERNAL_PASSWORDS.map((envName) =>
      generate(envName.toLowerCase().replace(/_/g, "-"), 32),
    );
    this.passwords = pulumi.secret(
      pulumi
        .all(generated)
        .apply(
          (values) =>
            Object.fromEntries(INTERNAL_PASSWORDS.map((envName, i) => [envName, values[i]!])) as Record<
              InternalPassword,
              string
            >,
        ),
    );
    const hostKey = new tls.PrivateKey(`${name}-ssh-host-key`, { algorithm: "ED25519" }, { parent: this });
    this.sshHostKey = {
      privateKey: pulumi.secret(hostKey.privateKeyOpenssh),
      publicKey: hostKey.publicKeyOpenssh.apply((key) => key.trim()),
    };
    this.registerOutputs({
      jwtAppSecret: this.jwtAppSecret,
      issuerApiKeys: this.issuerApiKeys,
      passwords: this.passwords,
      sshHostPublicKey: this.sshHostKey.publicKey,
    });
  }
}
