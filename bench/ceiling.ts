import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Benchmark peer (a): the ceiling of node:http on this machine. It reads the request body, as the
 * issuer must, and answers a fixed JSON body of a token answer's size, with Content-Length.
 */
const answer = JSON.stringify({
  token: "x".repeat(420),
  expiresAt: "2026-01-01T00:00:00.000Z",
  url: `https://meet.example.com/bench-room#jwt="${"x".repeat(420)}"`,
});
const headers = {
  "content-type": "application/json; charset=utf-8",
  "content-length": String(Buffer.byteLength(answer)),
};

http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, headers);
      res.end(answer);
    });
  })
  .listen(Number(process.env.PORT ?? 0), "127.0.0.1", function (this: http.Server) {
    console.log(JSON.stringify({ event: "listening", port: (this.address() as AddressInfo).port }));
  });
