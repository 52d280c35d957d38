import type { BridgeSpec } from "../../config/bridges";
import type { Settings } from "../../config/schema";
import { type EnvEntry, checkEnvEntries, composeEntries } from "./jitsiEnv";
import { privateAddress, XMPP_PORT } from "./privateNetwork";

/**
 * The XMPP names the meeting VM's Prosody serves. The meeting VM's .env leaves them at the release's
 * defaults (prosody, jicofo and jvb templates); a bridge names them, so it joins the same brewery.
 */
export const XMPP_DEFAULTS = {
  authDomain: "auth.meet.jitsi",
  internalMucDomain: "internal-muc.meet.jitsi",
  breweryMuc: "jvbbrewery",
} as const;

/** The bridge's MUC nickname and Octo relay id: unique in the stack, and stable for its number. */
export const bridgeNickname = (index: number) => `bridge-${index}`;
/** The meeting VM's own bridge, when it keeps one. */
export const MEETING_BRIDGE_NICKNAME = "meeting";

const plain = (name: string, value: string): EnvEntry => ({ name, value, secret: false });

export interface BridgeEnvInput {
  settings: Settings;
  bridge: BridgeSpec;
  /** JVB_AUTH_PASSWORD from the stack's state: the meeting VM's Prosody knows the jvb user by it. */
  jvbPassword: string;
  /** The bridge's own primary IPv4 and IPv6 addresses, which it advertises to clients. */
  advertiseIps: string[];
}

/** Octo on a bridge (jvb.conf `relay`): its region and a relay id no other bridge has. */
function octoEntries(settings: Settings, region: string, relayId: string): EnvEntry[] {
  if (!settings.bridges.octo) return [];
  return [plain("ENABLE_OCTO", "1"), plain("JVB_OCTO_REGION", region), plain("JVB_OCTO_RELAY_ID", relayId)];
}

/**
 * The `.env` of a bridge VM, which runs only the `jvb` service: every entry is a variable `jvb` receives
 * (VARIABLES.tsv), and test/infra/render/bridgeEnv.test.ts renders jvb.conf with it.
 */
export function bridgeEnvEntries(input: BridgeEnvInput): EnvEntry[] {
  const { settings: s, bridge } = input;
  const nickname = bridgeNickname(bridge.index);
  const entries: EnvEntry[] = [
    // What compose reads to load the release's file and build jvb (jvb only mounts ${CONFIG}/jvb).
    ...composeEntries(s),
    // Prosody on the meeting VM, over the private network (its 5222 is published there only).
    plain("XMPP_SERVER", privateAddress("meeting")),
    plain("XMPP_PORT", String(XMPP_PORT)),
    plain("XMPP_AUTH_DOMAIN", XMPP_DEFAULTS.authDomain),
    plain("XMPP_INTERNAL_MUC_DOMAIN", XMPP_DEFAULTS.internalMucDomain),
    plain("JVB_BREWERY_MUC", XMPP_DEFAULTS.breweryMuc),
    // Defaults to the container's hostname, which changes with every new container: jicofo would see a new bridge.
    plain("JVB_MUC_NICKNAME", nickname),
    plain("JVB_ADVERTISE_IPS", input.advertiseIps.join(",")),
    // The drain step and verify read the bridge's GET /colibri/stats on 127.0.0.1:8080. jvb serves it only
    // with the COLIBRI REST API on (jitsi-videobridge@stable/jitsi-meet_11146 rest/root/colibri/stats/Stats.java:26-27,
    // rest/RestConfig.kt:43-44), which jvb.conf's template leaves off unless this is set (jvb.conf:1, 78-80).
    // Without it the drain sees no load, waits its whole bound, and deletes the bridge with people on it.
    plain("COLIBRI_REST_ENABLED", "1"),
    { name: "JVB_AUTH_PASSWORD", value: input.jvbPassword, secret: true },
    ...octoEntries(s, bridge.region, nickname),
  ];
  return checkEnvEntries(entries);
}

/**
 * What the meeting VM's .env gains once the stack has extra bridges: a fixed nickname for its own bridge
 * (so verify can name it), jicofo's local REST API, and Octo on jicofo and its bridge, regions by location.
 */
export function meetingBridgeEntries(settings: Settings): EnvEntry[] {
  if (settings.bridges.bridges.length === 0) return [];
  return [
    plain("JVB_MUC_NICKNAME", MEETING_BRIDGE_NICKNAME),
    // jicofo's REST API (/debug lists the bridges it sees, for verify). The release publishes 8888 on
    // 127.0.0.1 only; without this jicofo listens inside its container alone.
    plain("JICOFO_ENABLE_REST", "1"),
    ...(settings.bridges.octo
      ? [
          // jicofo.conf: octo.enabled, and the region jicofo counts as local for participants without one.
          plain("JICOFO_OCTO_REGION", settings.location),
          plain("OCTO_BRIDGE_SELECTION_STRATEGY", "RegionBasedBridgeSelectionStrategy"),
          ...octoEntries(settings, settings.location, MEETING_BRIDGE_NICKNAME),
        ]
      : []),
  ];
}
