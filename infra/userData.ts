import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/schema";
import type { JitsiSecrets } from "./jitsiSecrets";
import type { PublicIps } from "./publicIps";
import type { StateVolume } from "./stateVolume";
import { bundleIssuer, lockedRuntimePackages } from "./render/bundle";
import { NO_MEETING_BRIDGE, noMeetingBridgeFile } from "./render/bridgeCloudInit";
import { meetingBridgeEntries } from "./render/bridgeEnv";
import { renderCloudInit, type VmFile } from "./render/cloudInit";
import { renderIssuerHost } from "./render/issuerHost";
import { formatEnv, jitsiEnvEntries } from "./render/jitsiEnv";
import { PRIVATE_XMPP_OVERRIDE, privateXmppOverride } from "./render/privateNetwork";
import { turnEnvEntries } from "./render/turnEnv";

export interface UserDataArgs {
  settings: Settings;
  secrets: JitsiSecrets;
  addresses: PublicIps;
  stateVolume: StateVolume;
  /** The TURN relay's shared secret, when the stack runs one: Prosody hands out credentials made with it. */
  turnSecret?: pulumi.Output<string>;
  /** The meeting VM's private address, when the stack has a private network: Prosody's XMPP port is published there. */
  privateAddress?: string;
}

/**
 * The meeting VM's compose files for the private network: Prosody's XMPP port for bridges and recorders,
 * on the private address only, and its own jvb switched off when the extra bridges carry all media.
 */
function privateNetworkExtras(settings: Settings, address: string | undefined) {
  if (!address) return { files: [], composeFiles: [] };
  const xmpp: VmFile = {
    path: PRIVATE_XMPP_OVERRIDE.path,
    content: privateXmppOverride(address),
    permissions: "0644",
  };
  const noJvb = settings.bridges.meetingBridge ? [] : [noMeetingBridgeFile()];
  return {
    files: [xmpp, ...noJvb],
    composeFiles: [
      PRIVATE_XMPP_OVERRIDE.composeFile,
      ...(noJvb.length > 0 ? [NO_MEETING_BRIDGE.composeFile] : []),
    ],
  };
}

/** The token issuer's files when it runs on the VM (`jitsi:issuerTarget host`); its env file holds secrets. */
function issuerHostExtras(settings: Settings, jwtAppSecret: string, apiKeys: string[]) {
  if (settings.issuer.target !== "host") return { files: [], composeFiles: [] };
  const host = renderIssuerHost({
    settings,
    bundle: bundleIssuer("node"),
    runtimePackages: lockedRuntimePackages(),
    secrets: { jwtAppSecret, apiKeys },
  });
  const files: VmFile[] = [
    ...host.files.map((f) => ({
      path: f.path,
      content: f.content,
      permissions: f.mode,
      compress: f.compress,
    })),
    { path: host.envFile, content: formatEnv(host.envEntries), permissions: "0600", compress: true },
  ];
  return { files, composeFiles: [host.composeFile] };
}

/** Joins the resolved secrets and addresses into the cloud-init document, kept secret throughout. */
export function userData(args: UserDataArgs): pulumi.Output<string> {
  const { secrets, addresses, settings, stateVolume } = args;
  return pulumi.secret(
    pulumi
      .all([
        secrets.jwtAppSecret,
        secrets.issuerApiKeys,
        secrets.passwords,
        addresses.ipv4Address,
        addresses.ipv6Address,
        secrets.sshHostKey.privateKey,
        secrets.sshHostKey.publicKey,
        // pulumi.all takes at most eight outputs with their types.
        pulumi.all([stateVolume.device, args.turnSecret ?? ""]),
      ])
      .apply(
        ([
          jwtAppSecret,
          apiKeys,
          passwords,
          ipv4,
          ipv6,
          hostPrivateKey,
          hostPublicKey,
          [stateDevice, turnSecret],
        ]) => {
          const issuer = issuerHostExtras(settings, jwtAppSecret, apiKeys);
          const xmpp = privateNetworkExtras(settings, args.privateAddress);
          return renderCloudInit({
            settings,
            env: jitsiEnvEntries({
              settings,
              jwtAppSecret,
              passwords,
              advertiseIps: [ipv4, ipv6],
              extraEntries: [
                ...(args.turnSecret ? turnEnvEntries(settings.turn, turnSecret) : []),
                ...meetingBridgeEntries(settings),
              ],
            }),
            extraFiles: [...issuer.files, ...xmpp.files],
            extraComposeFiles: [...issuer.composeFiles, ...xmpp.composeFiles],
            sshHostKey: { privateKey: hostPrivateKey, publicKey: hostPublicKey },
            stateDevice,
            ...(args.privateAddress ? { privateAddress: args.privateAddress } : {}),
          });
        },
      ),
  );
}
