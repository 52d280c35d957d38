import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, type Settings, STACK_FILE_ENV, validateSettings } from "./schema";

/** Settings plus the secret ones, wrapped as Pulumi secrets from the moment they are read. */
export interface LoadedSettings {
  settings: Settings;
  /** Set only when the stack configures it; otherwise the program generates one. */
  jwtAppSecret?: pulumi.Output<string>;
  /** Set only when the stack configures them; otherwise the program generates one. */
  issuerApiKeys?: pulumi.Output<string[]>;
  /** Set only when the stack configures it; otherwise the program generates one. */
  turnSecret?: pulumi.Output<string>;
  /** The recording bucket's keys, set whenever recording is on. */
  recordingKeys?: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
}

/**
 * The one place that reads Pulumi config. Validates all `jitsi:*` keys at once and stops the
 * program, before any resource is declared, with every problem listed.
 */
export function loadSettings(): LoadedSettings {
  const prefix = `${NAMESPACE}:`;
  const raw: Record<string, string> = {};
  const otherKeys: string[] = [];
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    else otherKeys.push(key);
  }
  const stack = pulumi.getStack();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an @internal SDK function, absent from its typings
  const { isConfigSecret } = require("@pulumi/pulumi/runtime/config.js") as {
    isConfigSecret(key: string): boolean;
  };
  const secretKeys = new Set(Object.keys(raw).filter((key) => isConfigSecret(`${prefix}${key}`)));
  const result = validateSettings(stack, raw, { secretKeys, otherKeys, file: process.env[STACK_FILE_ENV] });
  if (!result.ok) {
    throw new pulumi.RunError(
      `Stack '${stack}' has ${result.errors.length} invalid setting(s):\n  - ${result.errors.join("\n  - ")}`,
    );
  }
  const { jwtAppSecret, issuerApiKeys, turnSecret, recordingKeys } = result.secrets;
  return {
    settings: result.settings,
    jwtAppSecret: jwtAppSecret === undefined ? undefined : pulumi.secret(jwtAppSecret),
    issuerApiKeys: issuerApiKeys.length === 0 ? undefined : pulumi.secret(issuerApiKeys),
    turnSecret: turnSecret === undefined ? undefined : pulumi.secret(turnSecret),
    recordingKeys: recordingKeys === undefined ? undefined : pulumi.secret(recordingKeys),
  };
}
