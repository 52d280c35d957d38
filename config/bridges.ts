import { z } from "zod";
import { boolField, type FieldDoc, intField, listField, stringField } from "./fields";
import { HETZNER_LOCATIONS, HETZNER_NETWORK_ZONES, type HetznerLocation } from "./versions";

/** Settings of the extra videobridges (see infra/bridges.ts), part of the one settings schema. */

const SERVER_TYPE_RE = /^(cx|cpx|cax|ccx)\d{2}$/;
/** Bridge numbers are their private addresses' last octet (infra/render/privateNetwork.ts). */
export const MAX_BRIDGES = 50;

const locationField = z.enum(HETZNER_LOCATIONS, {
  error: `must be a Hetzner location: ${HETZNER_LOCATIONS.join(", ")}`,
});

export const bridgeFields = {
  bridges: intField(
    0,
    MAX_BRIDGES,
    `must be a whole number of extra bridges from 0 to ${MAX_BRIDGES}`,
  ).default(0),
  bridgeServerType: stringField("must be a Hetzner server type like cpx32")
    .regex(SERVER_TYPE_RE, { error: "must be a Hetzner server type like cpx32 (4 vCPU, 8 GB) or cx33" })
    .default("cx33"),
  bridgeLocations: listField(locationField, "must be a list of Hetzner locations, like ['fsn1', 'hel1']")
    .refine((list) => list.length > 0, {
      error: "must list at least one location, like ['fsn1']",
      abort: true,
    })
    .superRefine((list, ctx) => {
      const twice = list.filter((l, i) => list.indexOf(l) !== i);
      if (twice.length > 0) {
        ctx.addIssue({ code: "custom", message: `lists ${[...new Set(twice)].join(", ")} more than once` });
      }
    })
    .optional(),
  meetingBridge: boolField("must be true or false").default(true),
  octo: boolField("must be true or false").default(false),
  bridgeDrainMinutes: intField(1, 1440, "must be a whole number of minutes from 1 to 1440 (a day)").default(
    60,
  ),
};

export const BRIDGE_DOCS: Record<keyof typeof bridgeFields, FieldDoc> = {
  bridges: {
    doc: "Number of extra videobridge VMs beside the meeting VM, on a private network (docs/bridges.md). Scale in removes the highest numbers first, after draining them.",
    example: "2",
    default: "0",
  },
  bridgeServerType: { doc: "Hetzner server type of each extra bridge.", example: "cpx32", default: "cx33" },
  bridgeLocations: {
    doc: "Hetzner locations of the extra bridges, taken in turn (bridge 1 in the first, bridge 2 in the next...); all in the meeting VM's network zone.",
    example: "['fsn1', 'hel1']",
    default: "[location]",
  },
  meetingBridge: {
    doc: "Keep the videobridge on the meeting VM; false leaves media to the extra bridges (needs `bridges` ≥ 1).",
    example: "false",
    default: "true",
  },
  octo: {
    doc: "Octo: one meeting may span several bridges, participants going to a bridge in their region (the bridge's location). Needs two bridges or more.",
    example: "true",
    default: "false",
  },
  bridgeDrainMinutes: {
    doc: "The longest wait, when a bridge is removed, for its participants to leave before its VM is deleted (docs/bridges.md).",
    example: "120",
    default: "60",
  },
};

type BridgeRaw = { [K in keyof typeof bridgeFields]: z.output<(typeof bridgeFields)[K]> } & {
  location: HetznerLocation;
};

/** One extra bridge. Its number is its stable identity: names, private address and nickname come from it. */
export interface BridgeSpec {
  /** From 1; bridge 2 keeps its number, name and address when bridge 3 is removed. */
  index: number;
  location: HetznerLocation;
  /** The Octo region: the bridge's location. */
  region: string;
}

export interface BridgeSettings {
  serverType: string;
  meetingBridge: boolean;
  octo: boolean;
  drainMinutes: number;
  /** The extra bridges, by number. */
  bridges: BridgeSpec[];
}

function locations(s: Partial<BridgeRaw>): HetznerLocation[] {
  return s.bridgeLocations ?? (s.location ? [s.location] : []);
}

export function bridgeRules(s: Partial<BridgeRaw>, report: (key: string, message: string) => void): void {
  if (s.location !== undefined && s.bridgeLocations !== undefined) {
    const zone = HETZNER_NETWORK_ZONES[s.location];
    const elsewhere = s.bridgeLocations.filter((l) => HETZNER_NETWORK_ZONES[l] !== zone);
    if (elsewhere.length > 0) {
      const fits = HETZNER_LOCATIONS.filter((l) => HETZNER_NETWORK_ZONES[l] === zone);
      report(
        "bridgeLocations",
        `lists ${elsewhere.map((l) => `${l} (${HETZNER_NETWORK_ZONES[l]})`).join(", ")}, outside the meeting VM's network zone ${zone}; a Hetzner network joins one zone only: use ${fits.join(", ")}`,
      );
    }
  }
  if (s.meetingBridge === false && s.bridges === 0) {
    report(
      "meetingBridge",
      "false needs jitsi:bridges of 1 or more: without any bridge no meeting has media",
    );
  }
  if (s.octo === true && s.bridges !== undefined && s.meetingBridge !== undefined) {
    const total = s.bridges + (s.meetingBridge ? 1 : 0);
    if (total < 2) {
      report(
        "octo",
        `spreads a meeting over bridges, but this stack has ${total}; set jitsi:bridges to ${s.meetingBridge ? 1 : 2} or more, or jitsi:octo false`,
      );
    }
  }
}

export function resolveBridges(s: BridgeRaw): BridgeSettings {
  const where = locations(s);
  return {
    serverType: s.bridgeServerType,
    meetingBridge: s.meetingBridge,
    octo: s.octo,
    drainMinutes: s.bridgeDrainMinutes,
    bridges: Array.from({ length: s.bridges }, (_, i) => {
      const location = where[i % where.length]!;
      return { index: i + 1, location, region: location };
    }),
  };
}
