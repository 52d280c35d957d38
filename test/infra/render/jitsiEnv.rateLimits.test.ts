import { WebSocket } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCKER_DEFAULT_POOLS, PRIVATE_NETWORK_CIDR } from "../../../config/versions";
import { type JitsiProsody, startJitsiProsody } from "../../helpers/jitsiProsody";
import { renderedEnv } from "../../helpers/settings";

/**
 * Opens `count` websocket sessions at once, as the web container's nginx forwards a browser: from
 * 127.0.0.1 (a trusted proxy) with the browser's address in X-Forwarded-For.
 */
async function burstFrom(url: string, address: string, count: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(url, { protocols: ["xmpp"], headers: { "x-forwarded-for": address } });
          ws.onopen = () => {
            ws.close();
            resolve();
          };
          ws.onerror = () => reject(new Error(`websocket from ${address} failed`));
        }),
    ),
  );
}

async function waitForLog(prosody: JitsiProsody, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = prosody
      .log()
      .split("\n")
      .find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`Prosody never logged ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("Prosody's rate limits, from the rendered .env", () => {
  let prosody: JitsiProsody;
  beforeAll(async () => {
    prosody = await startJitsiProsody(renderedEnv());
  });
  afterAll(async () => prosody?.stop());

  it("loads the rate-limit modules on the meeting, lobby and breakout MUCs", () => {
    expect(prosody.loadedModules("muc.meet.jitsi")).toEqual(
      expect.arrayContaining(["rate_limit", "muc_rate_limit"]),
    );
    expect(prosody.loadedModules("lobby.meet.jitsi")).toContain("muc_rate_limit");
    expect(prosody.loadedModules("breakout.meet.jitsi")).toContain("muc_rate_limit");
  });

  it("exempts loopback, the compose network and the private network, and trusts the web container's X-Forwarded-For", () => {
    const option = (host: string, name: string) => prosody.shell(`config:get("${host}", "${name}")`);
    const allowed = option("muc.meet.jitsi", "rate_limit_whitelist");
    for (const range of ["127.0.0.1", ...DOCKER_DEFAULT_POOLS, PRIVATE_NETWORK_CIDR])
      expect(allowed).toContain(`"${range}"`);
    expect(allowed).not.toContain('"10.0.0.0/8"');
    const proxies = option("*", "trusted_proxies");
    for (const range of ["127.0.0.1", ...DOCKER_DEFAULT_POOLS]) expect(proxies).toContain(`"${range}"`);
  });

  it("limits a browser that logs in too often, but not a host on the private network", async () => {
    const privateHost = "10.0.3.4"; // inside PRIVATE_NETWORK_CIDR
    const outsideRange = "10.1.0.9"; // inside the template's default 10.0.0.0/8, outside ours
    const browser = "198.51.100.7";
    await burstFrom(prosody.url, privateHost, 12);
    await burstFrom(prosody.url, outsideRange, 12);
    await burstFrom(prosody.url, browser, 12);
    // Jitsi's rate_limit logs each address it starts to limit. Prosody judges a session when it creates
    // it, before the websocket opens, and each burst was open before the next began: once the last
    // address is limited, the first has been judged too.
    expect(
      await waitForLog(prosody, /Limiting 198\.51\.100\.7 due to login\/join rate exceeded/),
    ).toBeTruthy();
    expect(await waitForLog(prosody, /Limiting 10\.1\.0\.9 due to login\/join rate exceeded/)).toBeTruthy();
    expect(prosody.log()).not.toMatch(/Limiting 10\.0\.3\.4/);
  });
});
