import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Three network namespaces this test makes itself: a container, the VM routing its traffic (with
 * Docker's DOCKER-USER chain hooked into FORWARD), and a host standing in for Hetzner's metadata
 * service at 169.254.169.254 plus an ordinary address (192.0.2.10, a documentation range).
 */
const SCRIPT = path.resolve("infra/vm/block-metadata.sh");
const id = `${process.pid % 10000}`;
const ns = { container: `jsc${id}`, vm: `jsv${id}`, metadata: `jsm${id}` };
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });
const inNs = (name: string, ...args: string[]) => sh("ip", "netns", "exec", name, ...args);
let listener: ChildProcess | undefined;

/** Whether a TCP connection from the container to address:80 succeeds within a second. */
function reachable(address: string): boolean {
  const probe = `const s=require("net").connect(80,"${address}",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),1000);`;
  try {
    inNs(ns.container, process.execPath, "-e", probe);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  for (const name of Object.values(ns)) sh("ip", "netns", "add", name);
  sh(
    "ip",
    "link",
    "add",
    `c${id}`,
    "netns",
    ns.container,
    "type",
    "veth",
    "peer",
    "name",
    `vc${id}`,
    "netns",
    ns.vm,
  );
  sh(
    "ip",
    "link",
    "add",
    `m${id}`,
    "netns",
    ns.metadata,
    "type",
    "veth",
    "peer",
    "name",
    `vm${id}`,
    "netns",
    ns.vm,
  );
  const setup: Array<[string, string[]]> = [
    [ns.container, ["ip", "addr", "add", "10.250.0.2/24", "dev", `c${id}`]],
    [ns.container, ["ip", "link", "set", `c${id}`, "up"]],
    [ns.container, ["ip", "route", "add", "default", "via", "10.250.0.1"]],
    [ns.vm, ["ip", "addr", "add", "10.250.0.1/24", "dev", `vc${id}`]],
    [ns.vm, ["ip", "addr", "add", "10.251.0.1/24", "dev", `vm${id}`]],
    [ns.vm, ["ip", "link", "set", `vc${id}`, "up"]],
    [ns.vm, ["ip", "link", "set", `vm${id}`, "up"]],
    [ns.vm, ["ip", "route", "add", "169.254.169.254/32", "via", "10.251.0.2"]],
    [ns.vm, ["ip", "route", "add", "192.0.2.10/32", "via", "10.251.0.2"]],
    [ns.vm, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]],
    [ns.vm, ["iptables", "-N", "DOCKER-USER"]],
    [ns.vm, ["iptables", "-A", "FORWARD", "-j", "DOCKER-USER"]],
    [ns.metadata, ["ip", "addr", "add", "10.251.0.2/24", "dev", `m${id}`]],
    [ns.metadata, ["ip", "addr", "add", "169.254.169.254/32", "dev", `m${id}`]],
    [ns.metadata, ["ip", "addr", "add", "192.0.2.10/32", "dev", `m${id}`]],
    [ns.metadata, ["ip", "link", "set", `m${id}`, "up"]],
    [ns.metadata, ["ip", "link", "set", "lo", "up"]],
    [ns.metadata, ["ip", "route", "add", "10.250.0.0/24", "via", "10.251.0.1"]],
  ];
  for (const [name, command] of setup) inNs(name, ...command);
  const server = `require("net").createServer((s)=>{s.on("error",()=>{});s.end("user-data");}).listen(80,"0.0.0.0",()=>console.log("up"));`;
  listener = spawn("ip", ["netns", "exec", ns.metadata, process.execPath, "-e", server], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve) => listener!.stdout!.once("data", resolve));
});

afterAll(() => {
  listener?.kill();
  for (const name of Object.values(ns)) {
    try {
      sh("ip", "netns", "del", name);
    } catch {
      // Already gone.
    }
  }
});

describe("block-metadata.sh on the VM", () => {
  it("without it, a container reaches the metadata service (so the test below can fail)", () => {
    expect(reachable("169.254.169.254")).toBe(true);
  });

  it("keeps containers away from the metadata service and nothing else, and adds its rule once", () => {
    inNs(ns.vm, "sh", SCRIPT);
    inNs(ns.vm, "sh", SCRIPT);
    const rules = inNs(ns.vm, "iptables", "-S", "DOCKER-USER").trim().split("\n");
    expect(rules).toEqual(["-N DOCKER-USER", "-A DOCKER-USER -d 169.254.169.254/32 -j DROP"]);
    expect(reachable("169.254.169.254")).toBe(false);
    expect(reachable("192.0.2.10")).toBe(true);
  });
});
