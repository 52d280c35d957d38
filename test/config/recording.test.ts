import { describe, expect, it } from "vitest";
import { validateSettings } from "../../config/schema";
import { GOOD_RAW } from "../helpers/settings";

const ACCESS_KEY = "HZ4SAMPLEKEY0000ABCD";
const SECRET_KEY = "s3cr3tS4mpleKeyWith40Chars/abcdefghij+XY";
/** Recording on, with everything it needs; keys stored encrypted. */
const RECORDING: Record<string, string> = {
  recordingEnabled: "true",
  recordingBucket: "meet-recordings",
  recordingAccessKeyId: ACCESS_KEY,
  recordingSecretAccessKey: SECRET_KEY,
};
const SECRET_KEYS = ["recordingAccessKeyId", "recordingSecretAccessKey"];

function errorsFor(overrides: Record<string, string | undefined>, secretKeys = SECRET_KEYS): string[] {
  const raw = Object.fromEntries(
    Object.entries({ ...GOOD_RAW, ...overrides }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const result = validateSettings("dev", raw, { secretKeys: new Set(secretKeys) });
  return result.ok ? [] : result.errors;
}

describe("recording settings", () => {
  it("are off by default: no recorder, no bucket", () => {
    const result = validateSettings("dev", GOOD_RAW);
    expect(result.ok && result.settings.recording.enabled).toBe(false);
    expect(result.ok && result.settings.recording.recorders).toEqual([]);
    expect(result.ok && result.secrets.recordingKeys).toBeUndefined();
  });

  it("give one cx33 recorder and Hetzner Object Storage in the stack's location when turned on", () => {
    const result = validateSettings("dev", { ...GOOD_RAW, ...RECORDING, location: "hel1" });
    expect(result.ok && result.settings.recording).toEqual({
      enabled: true,
      recorders: [{ index: 1 }],
      serverType: "cx33",
      bucket: "meet-recordings",
      region: "hel1",
      endpoint: "https://hel1.your-objectstorage.com",
      prefix: "",
      minFreeGb: 10,
    });
    expect(result.ok && result.secrets.recordingKeys).toEqual({
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
    });
  });

  it("use fsn1's Object Storage when the stack's location has none, and take another provider's endpoint", () => {
    const ash = validateSettings("dev", { ...GOOD_RAW, ...RECORDING, location: "ash" });
    expect(ash.ok && ash.settings.recording.endpoint).toBe("https://fsn1.your-objectstorage.com");
    const aws = validateSettings("dev", {
      ...GOOD_RAW,
      ...RECORDING,
      recorders: "3",
      recorderServerType: "ccx23",
      recordingRegion: "eu-central-1",
      recordingEndpoint: "https://s3.eu-central-1.amazonaws.com",
      recordingPrefix: "meet/2026/",
      recordingMinFreeGb: "40",
    });
    expect(aws.ok && aws.settings.recording).toMatchObject({
      recorders: [{ index: 1 }, { index: 2 }, { index: 3 }],
      serverType: "ccx23",
      region: "eu-central-1",
      endpoint: "https://s3.eu-central-1.amazonaws.com",
      prefix: "meet/2026/",
      minFreeGb: 40,
    });
  });

  it.each([
    [{ recordingBucket: undefined }, "jitsi:recordingBucket is required with jitsi:recordingEnabled true"],
    [
      { recordingAccessKeyId: undefined },
      "jitsi:recordingAccessKeyId is required with jitsi:recordingEnabled true",
    ],
    [
      { recordingSecretAccessKey: undefined },
      "jitsi:recordingSecretAccessKey is required with jitsi:recordingEnabled true",
    ],
    [{ recorders: "0" }, "jitsi:recorders must be 1 or more with jitsi:recordingEnabled true"],
    [{ recorders: "21" }, "jitsi:recorders must be a whole number of recorders from 0 to 20"],
    [{ recorders: "two" }, "jitsi:recorders must be a whole number"],
    [{ recorderServerType: "cx23" }, "jitsi:recorderServerType must have at least 8 GB of RAM"],
    [{ recorderServerType: "cax11" }, "jitsi:recorderServerType must have at least 8 GB of RAM"],
    [{ recorderServerType: "cx99" }, "jitsi:recorderServerType must be a Hetzner server type whose memory"],
    [{ recordingEndpoint: "http://fsn1.your-objectstorage.com" }, "jitsi:recordingEndpoint must use https"],
    [{ recordingEndpoint: "fsn1.your-objectstorage.com" }, "jitsi:recordingEndpoint must be an https URL"],
    [
      { recordingEndpoint: "https://fsn1.your-objectstorage.com/meet-recordings" },
      "jitsi:recordingEndpoint must be scheme and host only",
    ],
    [
      { recordingEndpoint: "https://key:secret@s3.example.com" },
      "jitsi:recordingEndpoint must be scheme and host only",
    ],
    [{ recordingBucket: "Meet_Recordings" }, "jitsi:recordingBucket must be an S3 bucket name"],
    [{ recordingBucket: "ab" }, "jitsi:recordingBucket must be an S3 bucket name"],
    [{ recordingBucket: "meet..recordings" }, "jitsi:recordingBucket must not hold '..'"],
    [{ recordingRegion: "ams1" }, "jitsi:recordingRegion 'ams1' is not a Hetzner Object Storage location"],
    [{ recordingRegion: "EU Central" }, "jitsi:recordingRegion must be a region like fsn1"],
    [{ recordingPrefix: "meet" }, "jitsi:recordingPrefix must be empty or path segments ending in '/'"],
    [{ recordingPrefix: "/meet/" }, "jitsi:recordingPrefix must be empty or path segments ending in '/'"],
    [{ recordingAccessKeyId: "short" }, "jitsi:recordingAccessKeyId must be the bucket's access key"],
    [
      { recordingSecretAccessKey: "has spaces in it, not a key at all" },
      "jitsi:recordingSecretAccessKey must be",
    ],
    [{ recordingMinFreeGb: "0" }, "jitsi:recordingMinFreeGb must be a whole number of GB from 1 to 1000"],
    [{ recordingEnabled: "yes" }, "jitsi:recordingEnabled must be true or false"],
  ])("refuse %j with a message naming the key", (overrides, message) => {
    const errors = errorsFor({ ...RECORDING, ...overrides });
    expect(
      errors.some((e) => e.startsWith(message)),
      errors.join("\n"),
    ).toBe(true);
  });

  it("refuse recorders while recording is off", () => {
    expect(errorsFor({ recorders: "2" })).toEqual([
      expect.stringContaining(
        "jitsi:recorders is 2 but jitsi:recordingEnabled is false; set jitsi:recordingEnabled true, or jitsi:recorders 0",
      ),
    ]);
  });

  it("refuse the bucket's keys stored in plain text, without echoing them", () => {
    const errors = errorsFor(RECORDING, []);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^jitsi:recordingAccessKeyId is stored in plain text .*pulumi config set --secret/,
    );
    expect(errors[1]).toMatch(/^jitsi:recordingSecretAccessKey is stored in plain text/);
    expect(errors.join("\n")).not.toContain(SECRET_KEY);
  });

  it("report every problem at once", () => {
    const errors = errorsFor({
      recordingEnabled: "true",
      recorders: "0",
      recorderServerType: "cx23",
      recordingEndpoint: "ftp://x",
    });
    expect(errors.map((e) => e.split(" ")[0])).toEqual(
      expect.arrayContaining([
        "jitsi:recorders",
        "jitsi:recorderServerType",
        "jitsi:recordingEndpoint",
        "jitsi:recordingBucket",
        "jitsi:recordingAccessKeyId",
        "jitsi:recordingSecretAccessKey",
      ]),
    );
  });
});
