import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "../config/load";
import { VM_LAYOUT } from "../config/versions";
import { Bridge } from "./bridge";
import { JitsiHost } from "./jitsiHost";
import { JitsiSecrets } from "./jitsiSecrets";
import { MeetDns } from "./meetDns";
import { PrivateNetwork, privateNetworkNeeded } from "./privateNetwork";
import { PublicIps } from "./publicIps";
import { ReadinessGate } from "./readinessGate";
import { Recorder } from "./recorder";
import { privateAddress } from "./render/privateNetwork";
import { StateVolume } from "./stateVolume";
import { TokenIssuer } from "./tokenIssuer";
import { TurnServer } from "./turnServer";
import { userData } from "./userData";

const loaded = loadSettings();
const { settings } = loaded;
const name = `jitsi-${settings.stack}`;

// Uses the configured JWT secret and API keys, or generates them.
const secrets = new JitsiSecrets(name, loaded);
const addresses = new PublicIps(name, { settings });
const stateVolume = new StateVolume(name, { settings });
// Only a stack with bridges (or recorders) gets a private network; a single VM keeps its plan unchanged.
const network = privateNetworkNeeded(settings) ? new PrivateNetwork(name, { settings }) : undefined;
const meetingPrivate = network ? { network, ip: privateAddress("meeting") } : undefined;
const turn = settings.turn.enabled
  ? new TurnServer(`${name}-turn`, { settings, secret: loaded.turnSecret })
  : undefined;
const dns = new MeetDns(name, { settings, ipv4: addresses.ipv4Address, ipv6: addresses.ipv6Address });
const host = new JitsiHost(name, {
  settings,
  addresses,
  stateVolume,
  userData: userData({
    settings,
    secrets,
    addresses,
    stateVolume,
    turnSecret: turn?.secret,
    privateAddress: meetingPrivate?.ip,
  }),
  bootAfter: dns.records,
  privateNetwork: meetingPrivate,
});
// Extra videobridges, each named by its number: removing bridge 3 leaves bridge 2's resources as they are.
const bridges = network
  ? settings.bridges.bridges.map(
      (bridge) =>
        new Bridge(`${name}-bridge-${bridge.index}`, {
          settings,
          bridge,
          network,
          jvbPassword: secrets.passwords.apply((p) => p.JVB_AUTH_PASSWORD),
        }),
    )
  : [];
// Jibri recorders, each named by its number like the bridges; validation requires the bucket keys.
const recorderVms = network
  ? settings.recording.recorders.map(
      (r) =>
        new Recorder(`${name}-recorder-${r.index}`, {
          settings,
          index: r.index,
          passwords: secrets.passwords,
          keys: loaded.recordingKeys!,
          network,
        }),
    )
  : [];
new ReadinessGate(name, { settings, triggers: [host.serverId] }, { dependsOn: [host, dns] });
const issuer = new TokenIssuer(name, {
  settings,
  jwtAppSecret: secrets.jwtAppSecret,
  apiKeys: secrets.issuerApiKeys,
});

export const meetingUrl = `https://${settings.domain}/`;
export const domain = settings.domain;
export const environment = settings.environment;
export const ipv4 = addresses.ipv4Address;
export const ipv6 = addresses.ipv6Address;
export const serverId = host.serverId;
export const stateVolumeId = stateVolume.volume.id;
export const sshUser = VM_LAYOUT.sshUser;
export const sshHost = addresses.ipv4Address;
export const sshHostPublicKey = secrets.sshHostKey.publicKey;
export const sshCommand =
  settings.adminCidrs.length > 0
    ? pulumi.interpolate`ssh ${VM_LAYOUT.sshUser}@${addresses.ipv4Address}`
    : undefined;
export const jitsiDir = VM_LAYOUT.jitsiDir;
export const jitsiRelease = settings.jitsiRelease.tag;
export const jitsiCommit = settings.jitsiRelease.commit;
export const jwtAppId = settings.jwtAppId;
export const jwtAppSecret = secrets.jwtAppSecret;
export const issuerUrl = issuer.url;
export const issuerApiKeys = secrets.issuerApiKeys;
export const deleteProtection = settings.deleteProtection;
export const guestsEnabled = settings.enableGuests;
export const lobbyEnabled = settings.enableLobby;
export const prejoinEnabled = settings.enablePrejoin;
export const turnHostname = turn ? settings.turn.hostname : undefined;
export const turnIpv4 = turn?.vm.addresses.ipv4Address;
export const turnIpv6 = turn?.vm.addresses.ipv6Address;
export const turnServerId = turn?.vm.serverId;
export const turnSshHostPublicKey = turn?.vm.sshHostPublicKey;
export const meetingBridge = bridges.length > 0 ? settings.bridges.meetingBridge : undefined;
export const privateNetworkId = network ? network.network.id : undefined;
/** The extra bridges, by number: what verify checks and where an operator logs in. */
export const bridgeHosts =
  bridges.length === 0
    ? undefined
    : pulumi.output(
        bridges.map((b) => ({
          nickname: b.nickname,
          privateIp: b.privateIp,
          ipv4: b.vm.addresses.ipv4Address,
          ipv6: b.vm.addresses.ipv6Address,
          serverId: b.vm.serverId,
          sshHostPublicKey: b.vm.sshHostPublicKey,
        })),
      );
export const recordingBucket = settings.recording.enabled ? settings.recording.bucket : undefined;
export const recordingEndpoint = settings.recording.enabled ? settings.recording.endpoint : undefined;
export const recorders =
  recorderVms.length === 0
    ? undefined
    : recorderVms.map((r) => ({
        index: r.index,
        serverId: r.vm.serverId,
        ipv4: r.vm.addresses.ipv4Address,
        privateIp: r.privateIp,
        sshHostPublicKey: r.vm.sshHostPublicKey,
      }));
