import net from "node:net";

/**
 * A TCP proxy in front of a real server that can slow the server's replies or cut the connection after
 * some bytes, to make a download slow enough to interrupt or to end it early.
 */
export interface ProxyOptions {
  targetPort: number;
  /** Close both sides once this many bytes went from the server to the client. */
  cutAfterBytes?: number;
  /** Bytes per second from the server to the client. */
  bytesPerSecond?: number;
  /** Close both sides once this many bytes went from the client to the server (an upload cut midway). */
  cutUploadAfterBytes?: number;
  /** Cut only this many connections (by either rule above); later ones pass untouched. */
  maxCuts?: number;
}

export async function startProxy(
  options: ProxyOptions,
): Promise<{ port: number; cuts(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let cuts = 0;
  const mayCut = () => options.maxCuts === undefined || cuts < options.maxCuts;
  const server = net.createServer((client) => {
    const upstream = net.connect(options.targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    let sent = 0;
    let received = 0;
    client.on("data", (chunk: Buffer) => {
      if (
        options.cutUploadAfterBytes !== undefined &&
        received + chunk.length >= options.cutUploadAfterBytes &&
        mayCut()
      ) {
        cuts++;
        upstream.write(chunk.subarray(0, options.cutUploadAfterBytes - received));
        client.destroy();
        upstream.destroy();
        return;
      }
      received += chunk.length;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (options.cutAfterBytes !== undefined && sent + chunk.length >= options.cutAfterBytes && mayCut()) {
        cuts++;
        client.write(chunk.subarray(0, options.cutAfterBytes - sent));
        client.destroy();
        upstream.destroy();
        return;
      }
      sent += chunk.length;
      client.write(chunk);
      if (options.bytesPerSecond) {
        upstream.pause();
        setTimeout(() => upstream.resume(), (chunk.length / options.bytesPerSecond) * 1000);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    cuts: () => cuts,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
