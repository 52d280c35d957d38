import { describe, expect, it } from "vitest";
import { validateSettings } from "../../config/schema";
import { GOOD_RAW } from "../helpers/settings";

function errorsFor(overrides: Record<string, string>, secretKeys?: string[]): string[] {
  const result = validateSettings(
    "dev",
    { ...GOOD_RAW, ...overrides },
    secretKeys ? { secretKeys: new Set(secretKeys) } : {},
  );
  return result.ok ? [] : result.errors;
}

describe("TURN settings", () => {
  it("are on by default: turn.<domain>, 3478 plain, 443 TLS, a bounded relay range, a day's credentials", () => {
    const result = validateSettings("dev", GOOD_RAW);
    expect(result.ok && result.settings.turn).toEqual({
      enabled: true,
      hostname: "turn.meet.example.com",
      serverType: "cx23",
      location: "nbg1",
      port: 3478,
      tlsPort: 443,
      relayPorts: { min: 49152, max: 65535 },
      credentialTtlSeconds: 86400,
    });
    expect(result.ok && result.secrets.turnSecret).toBeUndefined();
  });

  it("follow the stack's location unless set, and take every documented key", () => {
    const result = validateSettings(
      "dev",
      {
        ...GOOD_RAW,
        location: "fsn1",
        turnHostname: "relay.example.com",
        turnServerType: "cax11",
        turnPort: "3479",
        turnTlsPort: "5349",
        turnRelayPorts: "40000-44999",
        turnCredentialTtlSeconds: "43200",
        turnSecret: "ab".repeat(20),
      },
      { secretKeys: new Set(["turnSecret"]) },
    );
    expect(result.ok && result.settings.turn).toEqual({
      enabled: true,
      hostname: "relay.example.com",
      serverType: "cax11",
      location: "fsn1",
      port: 3479,
      tlsPort: 5349,
      relayPorts: { min: 40000, max: 44999 },
      credentialTtlSeconds: 43200,
    });
    expect(result.ok && result.secrets.turnSecret).toBe("ab".repeat(20));
    expect(validateSettings("dev", { ...GOOD_RAW, turnLocation: "hel1" })).toMatchObject({
      settings: { location: "nbg1", turn: { location: "hel1" } },
    });
  });

  it("turn off with one setting", () => {
    const result = validateSettings("dev", { ...GOOD_RAW, turnEnabled: "false" });
    expect(result.ok && result.settings.turn.enabled).toBe(false);
  });

  const BAD: Array<[string, Record<string, string>, RegExp]> = [
    [
      "the meeting's own hostname",
      { turnHostname: "meet.example.com" },
      /^jitsi:turnHostname must differ from jitsi:domain: .*use turn\.meet\.example\.com \(got 'meet\.example\.com'\)$/,
    ],
    [
      "the token issuer's hostname",
      { turnHostname: "token.meet.example.com" },
      /^jitsi:turnHostname must differ from the token issuer's hostname token\.meet\.example\.com/,
    ],
    [
      "a URL as the hostname",
      { turnHostname: "turns://turn.example.com" },
      /^jitsi:turnHostname must be a hostname/,
    ],
    [
      "the same port for TLS and plain TURN",
      { turnPort: "5349", turnTlsPort: "5349" },
      /^jitsi:turnTlsPort clashes with jitsi:turnPort \(both 5349\): TLS and plain TURN need ports of their own \(got '5349'\)$/,
    ],
    [
      "a listening port inside the relay range",
      { turnPort: "50000" },
      /^jitsi:turnPort clashes with jitsi:turnRelayPorts 49152-65535; pick a port outside the relay range \(got '50000'\)$/,
    ],
    [
      "the SSH port",
      { turnTlsPort: "22" },
      /^jitsi:turnTlsPort clashes with SSH on port 22 of the TURN VM; use another port/,
    ],
    [
      "certbot's port 80",
      { turnPort: "80" },
      /^jitsi:turnPort clashes with certbot's HTTP-01 challenge on port 80 of the TURN VM/,
    ],
    [
      "a low port browsers refuse",
      { turnTlsPort: "853" },
      /^jitsi:turnTlsPort must be 53, 80, 443 or 1024-65535: browsers refuse TURN on other ports below 1024/,
    ],
    ["a port out of range", { turnPort: "70000" }, /^jitsi:turnPort must be a port number from 1 to 65535/],
    [
      "a tiny relay range",
      { turnRelayPorts: "50000-50010" },
      /^jitsi:turnRelayPorts must be a range of at least 1000 ports within 1024-65535/,
    ],
    [
      "a relay range that is not a range",
      { turnRelayPorts: "any" },
      /^jitsi:turnRelayPorts must be a port range like 49152-65535 \(got 'any'\)$/,
    ],
    ["a short secret", { turnSecret: "short" }, /^jitsi:turnSecret must be at least 32 characters/],
    [
      "a secret that would break coturn's or Prosody's config",
      { turnSecret: `${"a".repeat(32)}"#` },
      /^jitsi:turnSecret may hold only letters, digits/,
    ],
    [
      "a credential lifetime under an hour",
      { turnCredentialTtlSeconds: "60" },
      /^jitsi:turnCredentialTtlSeconds must be/,
    ],
  ];

  it.each(BAD)("refuse %s with one clear line", (_name, overrides, message) => {
    const errors = errorsFor(overrides);
    expect(errors, errors.join("\n")).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it("refuse a TURN secret stored in plain text, without echoing it", () => {
    const secret = "cd".repeat(20);
    const errors = errorsFor({ turnSecret: secret }, []);
    expect(errors).toEqual([
      "jitsi:turnSecret is stored in plain text in Pulumi.dev.yaml; store it encrypted: pulumi config set --secret jitsi:turnSecret <value> (got a secret of 40 bytes)",
    ]);
    expect(errorsFor({ turnSecret: "short" }).join("\n")).not.toContain("short'");
  });

  it("ignore port and hostname rules when TURN is off", () => {
    expect(errorsFor({ turnEnabled: "false", turnHostname: "meet.example.com", turnPort: "443" })).toEqual(
      [],
    );
  });
});
