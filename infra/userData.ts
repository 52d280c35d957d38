import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import type { JitsiSecrets } from "./jitsiSecrets";
import type { PublicIps } from "./publicIps";
import { renderCloudInit, type VmFile } from "./render/cloudInit";
import { jitsiEnvEntries } from "./render/jitsiEnv";

export interface UserDataArgs {
  settings: Settings;
  secrets: JitsiSecrets;
  addresses: PublicIps;
  /** Extra files and compose layers, such as the token issuer in `host` mode. */
  extras?: pulumi.Input<{ files: VmFile[]; composeFiles: string[] }>;
}

/** Joins the resolved secrets and addresses into the cloud-init document, kept secret throughout. */
export function userData(args: UserDataArgs): pulumi.Output<string> {
  const { secrets, addresses, settings } = args;
  return pulumi.secret(
    pulumi
      .all([
        secrets.jwtAppSecret,
        secrets.passwords,
        addresses.ipv4Address,
        addresses.ipv6Address,
        args.extras,
      ])
      .apply(([jwtAppSecret, passwords, ipv4, ipv6, extras]) =>
        renderCloudInit({
          settings,
          env: jitsiEnvEntries({ settings, jwtAppSecret, passwords, advertiseIps: [ipv4, ipv6] }),
          extraFiles: extras?.files,
          extraComposeFiles: extras?.composeFiles,
        }),
      ),
  );
}
