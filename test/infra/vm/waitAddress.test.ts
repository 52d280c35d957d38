import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A network namespace this test makes itself (a veth stands in for the private NIC) plays the VM before and after DHCP. */
const SCRIPT = path.resolve("infra/vm/wait-address.sh");
const ns = `jswa${process.pid % 10000}`;
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });

/** Runs the script inside the namespace: its exit status and what it printed. */
function waitFor(
  address: string,
  seconds: number,
  meanwhile?: () => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", ns, "sh", SCRIPT, address, String(seconds)]);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code) => resolve({ code, output }));
    meanwhile?.();
  });
}

beforeAll(() => {
  sh("ip", "netns", "add", ns);
  sh("ip", "netns", "exec", ns, "ip", "link", "add", "priv0", "type", "veth", "peer", "name", "priv1");
  sh("ip", "netns", "exec", ns, "ip", "link", "set", "priv0", "up");
});
afterAll(() => sh("ip", "netns", "delete", ns));

describe("waiting for the private address before the stack starts", () => {
  it("fails after its time when the address never comes, naming it, so the unit retries", async () => {
    const result = await waitFor("10.0.0.2", 1);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/10\.0\.0\.2 is not on any interface after 1s/);
  });

  it("does not mistake a longer address that starts the same for it", async () => {
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.0.0.20/20", "dev", "priv0");
    expect((await waitFor("10.0.0.2", 1)).code).toBe(1);
  });

  it("goes on as soon as DHCP gives the interface its address", async () => {
    const result = await waitFor("10.0.0.2", 20, () =>
      setTimeout(
        () => sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.0.0.2/32", "dev", "priv0"),
        1500,
      ),
    );
    expect(result).toEqual({ code: 0, output: "jitsi-stack: 10.0.0.2 is up\n" });
  });
});
