import { describe, expect, it } from "vitest";
import { validateSettings } from "../../config/schema";
import { GOOD_RAW } from "../helpers/settings";

function errorsFor(overrides: Record<string, string>): string[] {
  const result = validateSettings("dev", { ...GOOD_RAW, ...overrides });
  return result.ok ? [] : result.errors;
}
const bridgesOf = (overrides: Record<string, string>) => {
  const result = validateSettings("dev", { ...GOOD_RAW, ...overrides });
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.settings.bridges;
};

describe("bridge settings", () => {
  it("default to today's single VM: no extra bridge, the meeting VM's own bridge, no Octo", () => {
    expect(bridgesOf({})).toEqual({
      serverType: "cx33",
      meetingBridge: true,
      octo: false,
      drainMinutes: 60,
      bridges: [],
    });
  });

  it("number the bridges from 1 and place them in the listed locations in turn, with the location as Octo region", () => {
    const b = bridgesOf({
      location: "nbg1",
      bridges: "3",
      bridgeLocations: '["fsn1","hel1"]',
      bridgeServerType: "cpx32",
      octo: "true",
      meetingBridge: "false",
      bridgeDrainMinutes: "15",
    });
    expect(b).toEqual({
      serverType: "cpx32",
      meetingBridge: false,
      octo: true,
      drainMinutes: 15,
      bridges: [
        { index: 1, location: "fsn1", region: "fsn1" },
        { index: 2, location: "hel1", region: "hel1" },
        { index: 3, location: "fsn1", region: "fsn1" },
      ],
    });
  });

  it("put bridges in the meeting VM's location unless told otherwise", () => {
    expect(bridgesOf({ location: "hel1", bridges: "2" }).bridges.map((b) => b.location)).toEqual([
      "hel1",
      "hel1",
    ]);
  });

  it("a bridge keeps its number and location when the count changes", () => {
    const three = bridgesOf({ bridges: "3", bridgeLocations: '["fsn1","nbg1","hel1"]' }).bridges;
    const one = bridgesOf({ bridges: "1", bridgeLocations: '["fsn1","nbg1","hel1"]' }).bridges;
    expect(one).toEqual(three.slice(0, 1));
  });

  it.each([
    [{ bridges: "-1" }, /^jitsi:bridges must be a whole number of extra bridges from 0 to 50 \(got '-1'\)$/],
    [{ bridges: "51" }, /^jitsi:bridges must be a whole number .* \(got '51'\)$/],
    [{ bridges: "1.5" }, /^jitsi:bridges must be a whole number/],
    [{ bridges: "two" }, /^jitsi:bridges must be a whole number .*\(got 'two'\)$/],
    [{ bridgeServerType: "m5.large" }, /^jitsi:bridgeServerType must be a Hetzner server type like cpx32/],
    [{ bridgeServerType: "" }, /^jitsi:bridgeServerType must be a Hetzner server type/],
    [
      { bridgeLocations: '["fra1"]' },
      /^jitsi:bridgeLocations \(item 0\) must be a Hetzner location: fsn1, nbg1/,
    ],
    [
      { bridgeLocations: "fsn1" },
      /^jitsi:bridgeLocations must be a list of Hetzner locations, like \['fsn1', 'hel1'\]/,
    ],
    [{ bridgeLocations: "[]" }, /^jitsi:bridgeLocations must list at least one location/],
    [{ bridgeLocations: '["fsn1","hel1","fsn1"]' }, /^jitsi:bridgeLocations lists fsn1 more than once/],
    [
      { bridges: "2", bridgeLocations: '["fsn1","ash"]' },
      /^jitsi:bridgeLocations lists ash \(us-east\), outside the meeting VM's network zone eu-central; a Hetzner network joins one zone only: use fsn1, nbg1, hel1/,
    ],
    [
      { location: "ash", bridges: "1", bridgeLocations: '["hil"]' },
      /^jitsi:bridgeLocations lists hil \(us-west\), outside the meeting VM's network zone us-east; .*use ash/,
    ],
    [{ meetingBridge: "false" }, /^jitsi:meetingBridge false needs jitsi:bridges of 1 or more/],
    [{ meetingBridge: "no" }, /^jitsi:meetingBridge must be true or false/],
    [
      { octo: "true" },
      /^jitsi:octo spreads a meeting over bridges, but this stack has 1; set jitsi:bridges to 1 or more/,
    ],
    [
      { octo: "true", bridges: "1", meetingBridge: "false" },
      /^jitsi:octo .* has 1; set jitsi:bridges to 2 or more, or jitsi:octo false/,
    ],
    [{ octo: "yes" }, /^jitsi:octo must be true or false/],
    [
      { bridgeDrainMinutes: "0" },
      /^jitsi:bridgeDrainMinutes must be a whole number of minutes from 1 to 1440/,
    ],
    [{ bridgeDrainMinutes: "2000" }, /^jitsi:bridgeDrainMinutes must be/],
    [{ bridge: "2" }, /^jitsi:bridge is not a setting; did you mean jitsi:bridges\?/],
  ])("refuses %j with one clear line naming the key", (overrides, message) => {
    const errors = errorsFor(overrides);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it("reports every bad bridge setting at once", () => {
    const errors = errorsFor({ bridges: "-2", bridgeServerType: "big", octo: "maybe" });
    expect(errors.map((e) => e.split(" ")[0])).toEqual([
      "jitsi:bridges",
      "jitsi:bridgeServerType",
      "jitsi:octo",
    ]);
  });
});
