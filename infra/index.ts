import * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "../config/load";
import { VM_LAYOUT } from "../config/versions";
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
const recorderVms = settings.recording.recorders.map(
  (r) =>
    new Recorder(`${name}-recorder-${r.index}`, {
      settings,
      index: r.index,
      passwords: secrets.passwords,
      // Validation requires the keys whenever a recorder exists.
      keys: loaded.recordingKeys!,
      network: network!,
    }),
);
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
export const recordingBucket = settings.recording.enabled ? settings.recording.bucket : undefined;
export const recordingEndpoint = settings.recording.enabled ? settings.recording.endpoint : undefined;
export const recorders =
  recorderVms.length === 0
    ? undefined
    : recorderVms.map((r, i) => ({
        index: settings.recording.recorders[i]!.index,
        serverId: r.vm.serverId,
        ipv4: r.vm.addresses.ipv4Address,
        privateIp: r.privateIp,
        sshHostPublicKey: r.vm.sshHostPublicKey,
      }));
