import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { runOffline } from "../../scripts/lib/render/offlineEngine";
import { exampleConfig, ofType } from "../helpers/program";

/** Builds the addresses and the host alone, capturing the options each child resource was given. */
async function buildHost() {
  const options = new Map<string, pulumi.CustomResourceOptions>();
  const run = await runOffline({
    project: "jitsi-stack",
    stack: "dev",
    stackConfig: exampleConfig(),
    load: async () => {
      vi.resetModules();
      const { loadSettings } = await import("../../config/load.js");
      const { PublicIps } = await import("../../infra/publicIps.js");
      const { JitsiHost } = await import("../../infra/jitsiHost.js");
      const { StateVolume } = await import("../../infra/stateVolume.js");
      const { settings } = loadSettings();
      const addresses = new PublicIps("t", { settings });
      const stateVolume = new StateVolume("t", { settings });
      new JitsiHost(
        "t",
        { settings, addresses, stateVolume, userData: pulumi.secret("#cloud-config\n") },
        { transformations: [(args) => void options.set(args.type, args.opts)] },
      );
      return {};
    },
  });
  return { run, options };
}

describe("JitsiHost", () => {
  it("a replaced server frees its primary IPs first and takes the same ones back, so DNS stays", async () => {
    const { run, options } = await buildHost();
    expect(options.get("hcloud:index/server:Server")?.deleteBeforeReplace).toBe(true);
    const [ipv4, ipv6] = ofType(run, "hcloud:index/primaryIp:PrimaryIp");
    expect([ipv4!.inputs.autoDelete, ipv6!.inputs.autoDelete]).toEqual([false, false]);
    const server = ofType(run, "hcloud:index/server:Server")[0]!;
    expect(server.inputs.publicNets).toEqual([
      { ipv4Enabled: true, ipv4: Number(ipv4!.id), ipv6Enabled: true, ipv6: Number(ipv6!.id) },
    ]);
    expect(ofType(run, "hcloud:index/rdns:Rdns").map((r) => r.inputs.primaryIpId)).toEqual([
      Number(ipv4!.id),
      Number(ipv6!.id),
    ]);
  });

  it("a replaced server gets the state volume back: the attachment goes first and names the volume by id", async () => {
    const { run, options } = await buildHost();
    const [volume] = ofType(run, "hcloud:index/volume:Volume");
    const [attachment] = ofType(run, "hcloud:index/volumeAttachment:VolumeAttachment");
    const server = ofType(run, "hcloud:index/server:Server")[0]!;
    expect(volume!.inputs).toMatchObject({
      size: 10,
      location: "nbg1",
      format: "ext4",
      deleteProtection: false,
    });
    expect(attachment!.inputs).toEqual({
      volumeId: Number(volume!.id),
      serverId: Number(server.id),
      automount: false,
    });
    expect(options.get("hcloud:index/volumeAttachment:VolumeAttachment")?.deleteBeforeReplace).toBe(true);
    // The volume is not the server's child: replacing the server leaves it alone.
    expect(volume!.dependsOn).not.toContain("t-server");
  });

  it("attaches the firewall it creates", async () => {
    const { run } = await buildHost();
    const firewall = ofType(run, "hcloud:index/firewall:Firewall")[0]!;
    const server = ofType(run, "hcloud:index/server:Server")[0]!;
    expect(server.inputs.firewallIds).toEqual([Number(firewall.id)]);
  });

  it("gives Hetzner a key of the stack's own, never an operator key another stack may have uploaded", async () => {
    const { run } = await buildHost();
    const keys = ofType(run, "hcloud:index/sshKey:SshKey");
    const server = ofType(run, "hcloud:index/server:Server")[0]!;
    const [deployKey] = ofType(run, "tls:index/privateKey:PrivateKey").filter(
      (k) => k.name === "t-hetzner-key",
    );
    expect(deployKey?.inputs).toMatchObject({ algorithm: "ED25519" });
    expect(keys).toHaveLength(1);
    expect(server.inputs.sshKeys).toEqual([keys[0]!.id]);
    const operatorKey =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmS0pEXAMPLEKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxx ops@example";
    expect(keys[0]!.inputs.publicKey).toMatch(/^ssh-ed25519 \S+$/);
    expect(keys[0]!.inputs.publicKey).not.toBe(operatorKey);
    expect(keys[0]!.dependsOn).toContain("t-hetzner-key");
  });
});
