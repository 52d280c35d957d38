import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Secret } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { firewallRules } from "../../infra/render/firewall";
import { describeFinding, findPlaintextSecrets, type Revealed, reveal, SEALED } from "../../policy/secrets";

const ENV_EXAMPLE = readFileSync(
  path.resolve(__dirname, "../../../shared/reference/docker-jitsi-meet-stable-11146-2/env.example"),
  "utf8",
);
const PASSWORD_NAMES = [...ENV_EXAMPLE.matchAll(/^([A-Z_]+_PASSWORD)=$/gm)].map((m) => m[1]!);
const fresh = () => randomBytes(24).toString("hex");

/** docker-jitsi-meet's env.example with every empty password filled in, as `gen-passwords.sh` does. */
function filledEnv(): { text: string; values: string[] } {
  const values: string[] = [];
  const text = ENV_EXAMPLE.replace(/^([A-Z_]+_PASSWORD)=$/gm, (_line, name: string) => {
    const value = fresh();
    values.push(value);
    return `${name}=${value}`;
  });
  return { text: `${text}\nJWT_APP_SECRET=${fresh()}\n`, values };
}

describe("a plaintext secret in a resource input is found", () => {
  it("leaves the stock env.example alone: its passwords are empty and its JWT secret commented out", () => {
    expect(PASSWORD_NAMES.length).toBeGreaterThanOrEqual(6);
    expect(findPlaintextSecrets({ userData: ENV_EXAMPLE })).toEqual([]);
  });

  it("finds every filled-in password and the JWT secret of a .env, without echoing a value", () => {
    const env = filledEnv();
    const findings = findPlaintextSecrets({ userData: env.text });
    expect(findings.map((f) => f.kind)).toEqual([
      ...PASSWORD_NAMES.map((name) => `a secret assignment of ${name}`),
      "a secret assignment of JWT_APP_SECRET",
    ]);
    expect(findings.every((f) => f.path === "userData")).toBe(true);
    const messages = findings.map(describeFinding).join("\n");
    for (const value of env.values) expect(messages).not.toContain(value);
    expect(messages).toContain("pulumi.secret()");
  });

  it("does not look inside a value that arrived as a secret", () => {
    expect(findPlaintextSecrets({ userData: SEALED, labels: { app: "jitsi-stack" } })).toEqual([]);
  });

  it.each([
    [
      "an ed25519 key (PKCS#8)",
      generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }),
    ],
    [
      "an RSA key (PKCS#1)",
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs1" }),
    ],
  ])("finds %s embedded in a cloud-init document", (_what, pem) => {
    const cloudInit = `#cloud-config\nwrite_files:\n  - path: /root/.ssh/id\n    content: |\n${pem}`;
    expect(findPlaintextSecrets({ userData: cloudInit })).toEqual([
      { path: "userData", kind: "a PEM private key" },
    ]);
  });

  it("finds a signed JWT and tokens with a known prefix wherever they are", async () => {
    const jwt = await new SignJWT({ room: "*" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("jitsi-stack")
      .sign(randomBytes(32));
    const inputs = {
      description: `token ${jwt}`,
      labels: { note: "gh" + "p_" + "A1b2".repeat(9) },
      rules: [{ description: "AK" + "IA" + "ABCDEFGHIJKLMNOP" }],
      content: `const key = "pul-${"0a".repeat(20)}";`,
    };
    expect(findPlaintextSecrets(inputs)).toEqual([
      { path: "description", kind: "a signed JWT" },
      { path: "labels.note", kind: "a GitHub token" },
      { path: "rules[0].description", kind: "an AWS access key id" },
      { path: "content", kind: "a Pulumi access token" },
    ]);
  });

  it("finds values under keys that name a secret, but not references or values unknown in preview", () => {
    const findings = findPlaintextSecrets({
      environment: {
        JWT_APP_SECRET: fresh(),
        JVB_AUTH_PASSWORD: "${JVB_AUTH_PASSWORD}",
        HCLOUD_TOKEN: "",
        ISSUER_API_KEY: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
      },
      password: fresh(),
      jwtAppSecret: SEALED,
    });
    expect(findings).toEqual([
      { path: "environment.JWT_APP_SECRET", kind: "a value for 'JWT_APP_SECRET'" },
      { path: "password", kind: "a value for 'password'" },
    ]);
  });

  it("requires a Worker's secret_text binding to arrive as a secret", () => {
    const bindings = (text: Revealed): Revealed => ({
      bindings: [
        { type: "plain_text", name: "ALLOWED_ORIGINS", text: "https://app.example.com" },
        { type: "secret_text", name: "JWT_APP_SECRET", text },
      ],
    });
    expect(findPlaintextSecrets(bindings(fresh()))).toEqual([
      { path: "bindings[1].text", kind: "the text of a secret_text binding" },
    ]);
    expect(findPlaintextSecrets(bindings(SEALED))).toEqual([]);
  });

  it("tells a value from prose, code and short placeholders", () => {
    const lines = [
      'JWT_APP_SECRET: "HS256 secret shared with Prosody, at least 32 bytes. Required. Secret.",',
      "  JWT_APP_SECRET: env.JWT_APP_SECRET,",
      "JVB_AUTH_PASSWORD=${JVB_AUTH_PASSWORD}",
      "JICOFO_AUTH_PASSWORD=secret",
      "const ISSUER_TOKEN = makeToken(claims);",
    ];
    expect(findPlaintextSecrets({ content: lines.join("\n") })).toEqual([]);
    const keys = `ISSUER_API_KEYS='${fresh()}'\n  "JIGASI_XMPP_PASSWORD": "${fresh()}"`;
    expect(findPlaintextSecrets({ content: keys }).map((f) => f.kind)).toEqual([
      "a secret assignment of ISSUER_API_KEYS",
      "a secret assignment of JIGASI_XMPP_PASSWORD",
    ]);
  });

  it("raises nothing on the token issuer's source, which the Worker script carries", () => {
    const dir = path.resolve(__dirname, "../../issuer");
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(findPlaintextSecrets({ content: readFileSync(path.join(dir, file), "utf8") }), file).toEqual([]);
    }
  });

  it("raises nothing on the stack's ordinary inputs", () => {
    const ordinary: Revealed[] = [
      {
        labels: { app: "jitsi-stack", environment: "production" },
        rules: firewallRules(["203.0.113.7/32"]).map((rule) => ({ ...rule })),
      },
      {
        publicKey:
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLEKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxx ops@example",
      },
      {
        zoneId: "023e105f4ecef8ad9ca31a8372d0c353",
        name: "meet.example.com",
        type: "A",
        content: "203.0.113.10",
      },
      { bindings: [{ type: "secret_text", name: "ISSUER_API_KEYS", text: SEALED }], tokenUrl: "https://x" },
    ];
    for (const inputs of ordinary) expect(findPlaintextSecrets(inputs)).toEqual([]);
  });
});

describe("the framework's secret wrappers are recognised", () => {
  it("turns Secret instances into SEALED at any depth, and skips assets", () => {
    const revealed = reveal({
      userData: new Secret("JWT_APP_SECRET=abc"),
      bindings: [{ type: "secret_text", text: new Secret("x") }],
      content: new pulumi.asset.StringAsset("x"),
      port: 443,
    });
    expect(revealed).toEqual({
      userData: SEALED,
      bindings: [{ type: "secret_text", text: SEALED }],
      content: null,
      port: 443,
    });
  });
});
