import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { makeTestCa } from "./testCa";

/**
 * An HTTPS server on 127.0.0.1 with a certificate for "localhost" from a throwaway CA. It serves the pages it is given (e.g. "/config.js").
 */
export async function startHttpsServer(pages: Record<string, string>, options: { days?: number } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "jitsi-https-"));
  const ca = makeTestCa(dir);
  const leaf = ca.issue("localhost", ["DNS:localhost"], options.days ?? 90);
  const server = https.createServer(
    { key: readFileSync(leaf.keyFile), cert: readFileSync(leaf.certFile) },
    (req, res) => {
      const page = pages[req.url ?? "/"];
      res.writeHead(page === undefined ? 404 : 200, { "content-type": "text/plain" });
      res.end(page ?? "not found");
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://localhost:${port}/`,
    ipUrl: `https://127.0.0.1:${port}/`,
    caFile: ca.caFile,
    ca: ca.ca,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

/** A config.js shaped like docker-jitsi-meet's generated one (system-config.js + settings-config.js). */
export function jitsiConfigJs(
  options: { prejoin?: boolean; auth?: boolean; guests?: boolean; websocket?: string } = {},
) {
  return [
    "// Jitsi Meet configuration.",
    "var config = {};",
    "if (!config.hasOwnProperty('hosts')) config.hosts = {};",
    "config.hosts.domain = 'meet.jitsi';",
    "config.focusUserJid = 'focus@auth.meet.jitsi';",
    // As served: nginx's SSI has already replaced the <!--# echo --> placeholders (empty at the site root).
    "var subdir = '';",
    'var subdomain = "";',
    "if (subdir.startsWith('<!--')) { subdir = ''; }",
    "if (subdomain) { subdomain = subdomain.substr(0,subdomain.length-1).split('.').join('_').toLowerCase() + '.'; }",
    "config.hosts.muc = 'muc.' + subdomain + 'meet.jitsi';",
    ...(options.auth === false
      ? []
      : [
          ...(options.guests ? ["config.hosts.anonymousdomain = 'guest.meet.jitsi';"] : []),
          "config.hosts.authdomain = 'meet.jitsi';",
        ]),
    "config.bosh = '/' + subdir + 'http-bind';",
    `config.websocket = '${options.websocket ?? "wss://meet.example.com/"}' + subdir + 'xmpp-websocket';`,
    "if (!config.hasOwnProperty('prejoinConfig')) config.prejoinConfig = {};",
    `config.prejoinConfig.enabled = ${options.prejoin ? "true" : "false"};`,
    "config.enableWelcomePage = true;",
    "",
  ].join("\n");
}
