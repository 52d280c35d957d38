import { describe, expect, it } from "vitest";
import { revealSecrets } from "../../scripts/lib/render/offlineEngine";
import {
  exampleConfig,
  ofType,
  RECORDING_EXAMPLE,
  RECORDING_SECRET_KEYS,
  runProgram,
} from "../helpers/program";
import { cloudInitSchema, writtenFiles } from "../helpers/userData";

const SERVER = "hcloud:index/server:Server";
const FIREWALL = "hcloud:index/firewall:Firewall";
const SUBNET = "hcloud:index/networkSubnet:NetworkSubnet";
const RECORDING = RECORDING_EXAMPLE;
const SECRET_KEY = RECORDING.recordingSecretAccessKey;
const SECRET_KEYS = RECORDING_SECRET_KEYS;

describe("recorders (mock engine)", async () => {
  const run = await runProgram(exampleConfig({ ...RECORDING, bridges: "1" }, SECRET_KEYS));
  const recorders = ofType(run, SERVER).filter(
    (s) => (s.inputs.labels as Record<string, string>).role === "recorder",
  );

  it("are VMs of their own with role 'recorder', named by their number", () => {
    expect(recorders.map((s) => s.name)).toEqual([
      "jitsi-dev-recorder-1-server",
      "jitsi-dev-recorder-2-server",
    ]);
    for (const server of recorders) {
      expect(server.inputs).toMatchObject({ serverType: "cx33", location: "nbg1" });
    }
  });

  it("join the same private network as the meeting VM and the bridges, in the recorders' block", () => {
    const [subnet] = ofType(run, SUBNET);
    expect(ofType(run, SUBNET)).toHaveLength(1);
    expect(recorders.map((s) => s.inputs.networks)).toEqual([
      [{ subnetId: subnet!.id, ip: "10.0.2.1", aliasIps: [] }],
      [{ subnetId: subnet!.id, ip: "10.0.2.2", aliasIps: [] }],
    ]);
    // Each starts Jibri only once the address its attachment gives is up.
    for (const [i, server] of recorders.entries()) {
      const unit = writtenFiles(String(revealSecrets(server.inputs.userData))).find((f) =>
        f.path.endsWith("/jitsi-meet.service"),
      )?.content;
      expect(unit).toContain(`jitsi-stack-wait-address 10.0.2.${i + 1} `);
    }
    const meeting = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-server")!;
    expect(meeting.inputs.networks).toEqual([{ subnetId: subnet!.id, ip: "10.0.0.2", aliasIps: [] }]);
  });

  it("open nothing to the internet but SSH from the admin CIDRs", () => {
    const firewalls = ofType(run, FIREWALL).filter((f) => f.name.startsWith("jitsi-dev-recorder-"));
    expect(firewalls).toHaveLength(2);
    for (const firewall of firewalls) {
      expect((firewall.inputs.rules as { port: string }[]).map((r) => r.port)).toEqual(["22"]);
    }
  });

  it("get user-data that passes cloud-init schema, kept secret, with the bucket's key inside only", async () => {
    for (const server of recorders) {
      // Pulumi's secret envelope: the engine stores it encrypted.
      expect(server.inputs.userData).toMatchObject({
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      });
      const userData = String(revealSecrets(server.inputs.userData));
      expect(await cloudInitSchema(userData)).toMatchObject({ ok: true });
      expect(writtenFiles(userData).find((f) => f.path.endsWith("recording-upload.env"))?.content).toContain(
        SECRET_KEY,
      );
    }
  });

  it("turn recording on in the meeting VM's .env", () => {
    const meeting = ofType(run, SERVER).find((s) => s.name === "jitsi-dev-server")!;
    const env = writtenFiles(String(revealSecrets(meeting.inputs.userData))).find(
      (f) => f.path === "/opt/jitsi/.env",
    );
    expect(env?.content).toMatch(/^ENABLE_RECORDING=1$/m);
  });

  it("stop the program before any resource when the settings do not fit together", async () => {
    await expect(
      runProgram(exampleConfig({ ...RECORDING, recordingBucket: undefined }, SECRET_KEYS)),
    ).rejects.toThrow(/jitsi:recordingBucket is required with jitsi:recordingEnabled true/);
    await expect(runProgram(exampleConfig({ recorders: "1" }))).rejects.toThrow(
      /jitsi:recorders is 1 but jitsi:recordingEnabled is false/,
    );
    await expect(runProgram(exampleConfig(RECORDING))).rejects.toThrow(
      /jitsi:recordingSecretAccessKey is stored in plain text/,
    );
  });

  it("exports each recorder for the operator scripts", () => {
    expect(revealSecrets(run.outputs.recorders)).toEqual([
      expect.objectContaining({ index: 1, privateIp: "10.0.2.1" }),
      expect.objectContaining({ index: 2, privateIp: "10.0.2.2" }),
    ]);
    expect(run.outputs.recordingBucket).toBe("meet-recordings");
  });
});
