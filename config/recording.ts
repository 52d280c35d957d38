import { z } from "zod";
import { boolField, type FieldDoc, intField, stringField } from "./fields";
import type { HetznerLocation } from "./versions";

/** Settings of recording with Jibri (see infra/recorder.ts and docs/recording.md), part of the one settings schema. */

/** Recorder numbers are their private addresses' last octet (infra/render/privateNetwork.ts). */
export const MAX_RECORDERS = 20;
/** Jitsi's handbook: at least 8 GB of RAM for a Jibri recording in 720p. */
export const MIN_RECORDER_RAM_GB = 8;
/** Hetzner Object Storage's locations; each has its own endpoint, https://<location>.your-objectstorage.com. */
export const OBJECT_STORAGE_REGIONS = ["fsn1", "nbg1", "hel1"] as const;

/**
 * RAM (GB) of Hetzner's server types, from Hetzner's price list (2025). A recorder's type must be one of
 * these, so its memory is known; ARM (cax) works, the jibri image uses Debian's Chromium there.
 */
export const SERVER_TYPE_RAM_GB: Record<string, number> = {
  cx22: 4, cx32: 8, cx42: 16, cx52: 32,
  cx23: 4, cx33: 8, cx43: 16, cx53: 32,
  cpx11: 2, cpx21: 4, cpx31: 8, cpx41: 16, cpx51: 32,
  cpx12: 2, cpx22: 4, cpx32: 8, cpx42: 16, cpx52: 24, cpx62: 32,
  cax11: 4, cax21: 8, cax31: 16, cax41: 32,
  ccx13: 8, ccx23: 16, ccx33: 32, ccx43: 64, ccx53: 128, ccx63: 192,
}; // prettier-ignore

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_RE = /^([A-Za-z0-9_.-]+\/)*$/;

function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an https URL like https://fsn1.your-objectstorage.com";
  }
  if (url.protocol !== "https:") return "must use https, like https://fsn1.your-objectstorage.com";
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    return "must be scheme and host only (the bucket is jitsi:recordingBucket), like https://fsn1.your-objectstorage.com";
  }
  return undefined;
}

export const recordingFields = {
  recordingEnabled: boolField("must be true or false").default(false),
  recorders: intField(
    0,
    MAX_RECORDERS,
    `must be a whole number of recorders from 0 to ${MAX_RECORDERS}`,
  ).optional(),
  recorderServerType: stringField("must be a Hetzner server type like cx33")
    .refine((t) => t in SERVER_TYPE_RAM_GB, {
      error: `must be a Hetzner server type whose memory jitsi-stack knows: ${Object.keys(SERVER_TYPE_RAM_GB).join(", ")}`,
      abort: true,
    })
    .refine((t) => SERVER_TYPE_RAM_GB[t]! >= MIN_RECORDER_RAM_GB, {
      error: `must have at least ${MIN_RECORDER_RAM_GB} GB of RAM (Jitsi's handbook, for 720p), like cx33 (8 GB) or cx43 (16 GB)`,
    })
    .default("cx33"),
  recordingBucket: stringField("must be a bucket name")
    .regex(BUCKET_RE, {
      error: "must be an S3 bucket name: 3-63 lower-case letters, digits, '.' or '-', like meet-recordings",
    })
    .refine((b) => !b.includes(".."), { error: "must not hold '..'" })
    .optional(),
  recordingRegion: stringField("must be a region")
    .regex(/^[a-z0-9-]{2,32}$/, { error: "must be a region like fsn1 or eu-central-1" })
    .optional(),
  recordingEndpoint: stringField("must be an https URL")
    .superRefine((value, ctx) => {
      const problem = endpointProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  recordingPrefix: stringField("must be an object key prefix")
    .regex(PREFIX_RE, {
      error:
        "must be empty or path segments ending in '/', of letters, digits, '.', '_' or '-', like recordings/",
    })
    .default(""),
  recordingAccessKeyId: z
    .string({ error: "must be a string" })
    .regex(/^[A-Za-z0-9]{16,128}$/, { error: "must be the bucket's access key, 16-128 letters and digits" })
    .optional(),
  recordingSecretAccessKey: z
    .string({ error: "must be a string" })
    .regex(/^[A-Za-z0-9/+=]{20,128}$/, {
      error: "must be the bucket's secret key, 20-128 letters, digits, '/', '+' or '='",
    })
    .optional(),
  recordingMinFreeGb: intField(1, 1000, "must be a whole number of GB from 1 to 1000").default(10),
};

export const RECORDING_DOCS: Record<keyof typeof recordingFields, FieldDoc> = {
  recordingEnabled: {
    doc: "Recording with Jibri to an S3 bucket (docs/recording.md): the record button for tokens that allow it, and recorder VMs on the private network.",
    example: "true",
    default: "false",
  },
  recorders: {
    doc: "Number of recorder VMs; each records one meeting at a time.",
    example: "2",
    default: "1 with recording on, else 0",
  },
  recorderServerType: {
    doc: "Hetzner server type of each recorder; at least 8 GB of RAM.",
    example: "cx43",
    default: "cx33",
  },
  recordingBucket: {
    doc: "S3 bucket the recordings are uploaded to; required with recording on.",
    example: "meet-recordings",
    default: "unset",
  },
  recordingRegion: {
    doc: "The bucket's region (Hetzner Object Storage: fsn1, nbg1 or hel1).",
    example: "hel1",
    default: "location when it has Object Storage, else fsn1",
  },
  recordingEndpoint: {
    doc: "S3 endpoint (https, host only).",
    example: "https://s3.eu-central-1.amazonaws.com",
    default: "https://<recordingRegion>.your-objectstorage.com",
  },
  recordingPrefix: {
    doc: "Prefix of every object key, ending in '/'; keys are <prefix><room>/<date>/<session>/<file>.",
    example: "meet/",
    default: "empty",
  },
  recordingAccessKeyId: {
    doc: "Access key of the bucket. Set with `--secret`.",
    example: "(from the Hetzner console)",
    default: "unset",
    secret: true,
  },
  recordingSecretAccessKey: {
    doc: "Secret key of the bucket. Set with `--secret`.",
    example: "(from the Hetzner console)",
    default: "unset",
    secret: true,
  },
  recordingMinFreeGb: {
    doc: "A recorder with less free disk than this takes no new recording (enough for the longest meeting you record).",
    example: "20",
    default: "10",
  },
};

type RecordingRaw = { [K in keyof typeof recordingFields]: z.output<(typeof recordingFields)[K]> } & {
  location: HetznerLocation;
};

/** One recorder. Its number is its stable identity: names, private address and Jibri id come from it. */
export interface RecorderSpec {
  index: number;
}

export interface RecordingSettings {
  enabled: boolean;
  recorders: RecorderSpec[];
  serverType: string;
  bucket: string;
  region: string;
  endpoint: string;
  prefix: string;
  minFreeGb: number;
}

export function recordingRules(
  s: Partial<RecordingRaw>,
  report: (key: string, message: string) => void,
): void {
  if (s.recordingEnabled === false) {
    if (s.recorders !== undefined && s.recorders > 0) {
      report(
        "recorders",
        `is ${s.recorders} but jitsi:recordingEnabled is false; set jitsi:recordingEnabled true, or jitsi:recorders 0`,
      );
    }
    return;
  }
  if (s.recordingEnabled !== true) return;
  if (s.recorders === 0) {
    report(
      "recorders",
      "must be 1 or more with jitsi:recordingEnabled true: without a recorder nothing records",
    );
  }
  const required = [
    ["recordingBucket", "the bucket recordings go to, like meet-recordings"],
    [
      "recordingAccessKeyId",
      "the bucket's access key: pulumi config set --secret jitsi:recordingAccessKeyId <key>",
    ],
    [
      "recordingSecretAccessKey",
      "the bucket's secret key: pulumi config set --secret jitsi:recordingSecretAccessKey <key>",
    ],
  ] as const;
  for (const [key, what] of required) {
    // A key absent from `s` failed its own check and is reported already.
    if (key in s && s[key] === undefined) {
      report(key, `is required with jitsi:recordingEnabled true: ${what}`);
    }
  }
  if (
    s.recordingRegion !== undefined &&
    s.recordingEndpoint === undefined &&
    !(OBJECT_STORAGE_REGIONS as readonly string[]).includes(s.recordingRegion)
  ) {
    report(
      "recordingRegion",
      `'${s.recordingRegion}' is not a Hetzner Object Storage location (${OBJECT_STORAGE_REGIONS.join(", ")}); for another provider set jitsi:recordingEndpoint too`,
    );
  }
}

export function resolveRecording(s: RecordingRaw): RecordingSettings {
  const region =
    s.recordingRegion ??
    ((OBJECT_STORAGE_REGIONS as readonly string[]).includes(s.location) ? s.location : "fsn1");
  const count = s.recorders ?? (s.recordingEnabled ? 1 : 0);
  return {
    enabled: s.recordingEnabled,
    recorders: Array.from({ length: count }, (_, i) => ({ index: i + 1 })),
    serverType: s.recorderServerType,
    bucket: s.recordingBucket ?? "",
    region,
    endpoint: s.recordingEndpoint ?? `https://${region}.your-objectstorage.com`,
    prefix: s.recordingPrefix,
    minFreeGb: s.recordingMinFreeGb,
  };
}
