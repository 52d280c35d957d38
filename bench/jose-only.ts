import http from "node:http";
import type { AddressInfo } from "node:net";
import { buildRoomClaims, importHmacKey, meetingUrl, signRoomToken } from "../issuer/claims";

/**
 * Benchmark peer (b): the signing ceiling. It reads and parses the body, builds the same claims and
 * signs them with jose exactly as the issuer does, and answers the same JSON with Content-Length;
 * nothing else (no credentials, limits, validation or logs).
 */
async function main(): Promise<void> {
  const key = await importHmacKey(process.env.JWT_APP_SECRET ?? "");
  const appId = process.env.JWT_APP_ID ?? "";
  const domain = process.env.JITSI_DOMAIN ?? "";
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const claims = buildRoomClaims(
          { appId },
          { room: body.room, user: body.user, moderator: false, ttlSeconds: body.ttlSeconds },
          Date.now() / 1000,
        );
        const token = await signRoomToken(key, claims);
        const answer = JSON.stringify({
          token,
          expiresAt: new Date(claims.exp * 1000).toISOString(),
          url: meetingUrl(domain, claims.room, token),
        });
        res.writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          "cache-control": "no-store",
          "content-length": String(Buffer.byteLength(answer)),
        });
        res.end(answer);
      });
    })
    .listen(Number(process.env.PORT ?? 0), "127.0.0.1", function (this: http.Server) {
      console.log(JSON.stringify({ event: "listening", port: (this.address() as AddressInfo).port }));
    });
}

void main();
