import { describe, expect, it } from "vitest";
import { SETTINGS_DOCS, validateSettings } from "../../config/schema";
import { JITSI_RELEASE } from "../../config/versions";

/** A complete, valid stack in Pulumi's string form; each bad case changes one thing. */
const GOOD: Record<string, string> = {
  domain: "meet.example.com",
  cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
  cloudflareAccountId: "01a7362d577a6c3019a474fd6f485823",
  acmeEmail: "ops@example.com",
  sshPublicKeys: JSON.stringify(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLE ops@example"]),
  adminCidrs: JSON.stringify(["203.0.113.7/32"]),
};

function errorsFor(overrides: Record<string, string | undefined>): string[] {
  const raw = { ...GOOD, ...overrides };
  for (const [k, v] of Object.entries(raw)) if (v === undefined) delete raw[k];
  const result = validateSettings("test", raw as Record<string, string>);
  return result.ok ? [] : result.errors;
}

describe("stack settings", () => {
  it("a minimal stack gets the documented defaults", () => {
    const result = validateSettings("dev", GOOD);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.settings).toMatchObject({
      location: "nbg1",
      serverType: "cx33",
      image: "ubuntu-24.04",
      enableGuests: true,
      enableLobby: false,
      enablePrejoin: false,
      acmeStaging: false,
      deleteProtection: false,
      hetznerBackups: false,
      timezone: "UTC",
      jitsiRelease: { tag: JITSI_RELEASE.tag, commit: JITSI_RELEASE.commit },
      issuer: { target: "worker", hostname: "token.meet.example.com" },
    });
    expect(result.secrets.jwtAppSecret).toBeUndefined();
  });

  it("Hetzner backups follow delete protection unless set", () => {
    const on = validateSettings("prod", { ...GOOD, deleteProtection: "true" });
    const off = validateSettings("prod", { ...GOOD, deleteProtection: "true", hetznerBackups: "false" });
    expect(on.ok && on.settings.hetznerBackups).toBe(true);
    expect(off.ok && off.settings.hetznerBackups).toBe(false);
  });

  it("accepts Ubuntu 22.04 and an explicit release pinned with its commit", () => {
    const result = validateSettings("dev", {
      ...GOOD,
      image: "ubuntu-22.04",
      jitsiRelease: "stable-10590",
      jitsiCommit: "0123456789abcdef0123456789abcdef01234567",
    });
    expect(result.ok && result.settings.jitsiRelease).toEqual({
      tag: "stable-10590",
      commit: "0123456789abcdef0123456789abcdef01234567",
    });
  });

  it("SSH from anywhere is allowed only when explicitly permitted", () => {
    expect(errorsFor({ adminCidrs: '["0.0.0.0/0"]', allowSshFromAnywhere: "true" })).toEqual([]);
  });

  const BAD: Array<[string, Record<string, string | undefined>, RegExp]> = [
    [
      "a URL as the domain",
      { domain: "https://meet" },
      /^jitsi:domain must be a hostname like meet\.example\.com.*got 'https:\/\/meet'/,
    ],
    ["a single-label domain", { domain: "meet" }, /^jitsi:domain must be a hostname/],
    [
      "an upper-case domain with a port",
      { domain: "Meet.Example.com:443" },
      /^jitsi:domain must be a hostname/,
    ],
    ["a missing domain", { domain: undefined }, /^jitsi:domain .*it is not set/],
    [
      "a zone name instead of a zone id",
      { cloudflareZoneId: "example.com" },
      /^jitsi:cloudflareZoneId must be the 32-character hex zone id/,
    ],
    [
      "an email without a domain",
      { acmeEmail: "ops@" },
      /^jitsi:acmeEmail must be an email address like ops@example\.com/,
    ],
    [
      "SSH open to the IPv4 internet",
      { adminCidrs: '["0.0.0.0/0"]' },
      /^jitsi:adminCidrs opens SSH to the whole internet \(0\.0\.0\.0\/0\).*allowSshFromAnywhere/,
    ],
    [
      "SSH open to the IPv6 internet",
      { adminCidrs: '["203.0.113.7/32", "::/0"]' },
      /^jitsi:adminCidrs opens SSH to the whole internet \(::\/0\)/,
    ],
    [
      "an address that is not a CIDR",
      { adminCidrs: '["203.0.113.300/32"]' },
      /^jitsi:adminCidrs \(item 0\) must hold CIDRs like 203\.0\.113\.7\/32/,
    ],
    [
      "an IPv4 CIDR with host bits set",
      { adminCidrs: '["203.0.113.7/8"]' },
      /^jitsi:adminCidrs \(item 0\) must hold exact CIDRs: '203\.0\.113\.7\/8' has host bits set past \/8; write the network 203\.0\.0\.0\/8, or 203\.0\.113\.7\/32 for the one address/,
    ],
    [
      "an IPv6 CIDR with host bits set",
      { adminCidrs: '["203.0.113.0/24", "2001:db8:1234::1/48"]' },
      /^jitsi:adminCidrs \(item 1\) must hold exact CIDRs: '2001:db8:1234::1\/48' has host bits set past \/48; write the network 2001:db8:1234::\/48, or 2001:db8:1234::1\/128/,
    ],
    [
      "a CIDR list given as a plain string",
      { adminCidrs: "203.0.113.7/32" },
      /^jitsi:adminCidrs must be a list of CIDRs/,
    ],
    [
      "an unknown location",
      { location: "mars1" },
      /^jitsi:location must be a Hetzner location: fsn1, nbg1, hel1, ash, hil, sin \(got 'mars1'\)/,
    ],
    [
      "an unsupported image",
      { image: "debian-12" },
      /^jitsi:image must be one of ubuntu-24\.04, ubuntu-22\.04 \(got 'debian-12'\)/,
    ],
    [
      "a made-up server type",
      { serverType: "huge" },
      /^jitsi:serverType must be a Hetzner server type like cx33/,
    ],
    [
      "a JWT secret under 32 bytes",
      { jwtAppSecret: "tooshort" },
      /^jitsi:jwtAppSecret must be at least 32 bytes.*got a secret of 8 bytes/,
    ],
    [
      "a JWT secret with quoting characters",
      { jwtAppSecret: "a'b\"c$d#e".repeat(5) },
      /^jitsi:jwtAppSecret may hold only letters/,
    ],
    [
      "a release tag without its commit",
      { jitsiRelease: "stable-10590" },
      /^jitsi:jitsiCommit is required when jitsi:jitsiRelease is set/,
    ],
    [
      "a commit without its tag",
      { jitsiCommit: JITSI_RELEASE.commit },
      /^jitsi:jitsiRelease is required when jitsi:jitsiCommit is set/,
    ],
    [
      "a branch instead of a release tag",
      { jitsiRelease: "master", jitsiCommit: JITSI_RELEASE.commit },
      /^jitsi:jitsiRelease must be a docker-jitsi-meet release tag like stable-11146-2/,
    ],
    [
      "a short commit id",
      { jitsiRelease: "stable-11146-2", jitsiCommit: "738058b" },
      /^jitsi:jitsiCommit must be the full 40-character commit/,
    ],
    ["a yes/no boolean", { enableLobby: "yes" }, /^jitsi:enableLobby must be true or false \(got 'yes'\)/],
    [
      "an unknown time zone",
      { timezone: "Mars/Olympus" },
      /^jitsi:timezone must be an IANA time zone like Europe\/Berlin/,
    ],
    ["no SSH keys", { sshPublicKeys: "[]" }, /^jitsi:sshPublicKeys needs at least one key/],
    [
      "a private key pasted as a public key",
      { sshPublicKeys: '["-----BEGIN OPENSSH PRIVATE KEY-----"]' },
      /^jitsi:sshPublicKeys \(item 0\) must hold OpenSSH public keys/,
    ],
    [
      "a TTL under a minute",
      { dnsTtl: "5" },
      /^jitsi:dnsTtl must be a whole number of seconds from 60 to 86400 \(got '5'\)/,
    ],
    [
      "an unknown environment",
      { environment: "prd" },
      /^jitsi:environment must be dev, staging or production/,
    ],
    [
      "a mistyped key",
      { domian: "meet.example.com" },
      /^jitsi:domian is not a setting; did you mean jitsi:domain\?/,
    ],
    [
      "a Worker issuer without an account id",
      { cloudflareAccountId: undefined },
      /^jitsi:cloudflareAccountId is required when jitsi:issuerTarget is worker/,
    ],
    [
      "an unknown issuer target",
      { issuerTarget: "lambda" },
      /^jitsi:issuerTarget must be one of worker, host, none/,
    ],
    [
      "half an OIDC setup",
      { issuerOidcIssuer: "https://login.example.com/" },
      /^jitsi:issuerOidcAudience is required once jitsi:issuerOidcIssuer is set/,
    ],
  ];

  it.each(BAD)("refuses %s with a message naming the key and a good value", (_name, overrides, message) => {
    const errors = errorsFor(overrides);
    expect(
      errors.some((e) => message.test(e)),
      `errors were:\n${errors.join("\n")}`,
    ).toBe(true);
  });

  it("lists every problem at once", () => {
    const errors = errorsFor({
      domain: "https://meet",
      location: "mars1",
      jwtAppSecret: "short",
      adminCidrs: '["0.0.0.0/0"]',
    });
    expect(errors).toHaveLength(4);
    expect(errors.map((e) => e.split(" ")[0])).toEqual([
      "jitsi:domain",
      "jitsi:location",
      "jitsi:jwtAppSecret",
      "jitsi:adminCidrs",
    ]);
  });

  it("never echoes a secret in an error", () => {
    const secret = "not-long-enough-secret";
    const errors = errorsFor({ jwtAppSecret: secret, issuerApiKeys: JSON.stringify(["short-key-value"]) });
    expect(errors.length).toBe(2);
    expect(errors.join("\n")).not.toContain(secret);
    expect(errors.join("\n")).not.toContain("short-key-value");
  });

  it("accepts IANA zone names ICU knows only as aliases, and refuses made-up or miscased ones", () => {
    expect(errorsFor({ timezone: "America/Argentina/Buenos_Aires" })).toEqual([]);
    expect(errorsFor({ timezone: "Asia/Calcutta" })).toEqual([]);
    expect(errorsFor({ timezone: "Mars/Olympus_Mons" })[0]).toMatch(
      /^jitsi:timezone must be an IANA time zone/,
    );
    expect(errorsFor({ timezone: "europe/berlin" })[0]).toMatch(/^jitsi:timezone must be an IANA time zone/);
  });

  it("points at a setting put under another namespace, and leaves providers' keys alone", () => {
    const result = validateSettings("dev", GOOD, { otherKeys: ["jitsi-stack:location", "hcloud:token"] });
    expect(result.ok ? [] : result.errors).toEqual([
      "jitsi-stack:location is not read: settings live under the jitsi: namespace; did you mean jitsi:location? (pulumi config rm jitsi-stack:location && pulumi config set jitsi:location <value>)",
    ]);
  });

  it("refuses a secret setting stored in plain text, naming the command that encrypts it", () => {
    const raw = { ...GOOD, jwtAppSecret: "ab".repeat(20), issuerApiKeys: JSON.stringify(["cd".repeat(20)]) };
    const plain = validateSettings("prod", raw, { secretKeys: new Set() });
    expect(plain.ok ? [] : plain.errors).toEqual([
      expect.stringMatching(
        /^jitsi:jwtAppSecret is stored in plain text in Pulumi\.prod\.yaml; store it encrypted: pulumi config set --secret jitsi:jwtAppSecret <value> \(got a secret of 40 bytes\)$/,
      ),
      expect.stringMatching(/^jitsi:issuerApiKeys is stored in plain text/),
    ]);
    expect(validateSettings("prod", raw, { secretKeys: new Set(["jwtAppSecret", "issuerApiKeys"]) }).ok).toBe(
      true,
    );
  });

  it("documents every setting with an example", () => {
    for (const [key, doc] of Object.entries(SETTINGS_DOCS)) {
      expect(doc.doc.length, key).toBeGreaterThan(10);
      expect(doc.example.length, key).toBeGreaterThan(0);
    }
  });
});
