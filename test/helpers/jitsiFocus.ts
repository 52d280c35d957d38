import { client, xml, type Client, type Element } from "@xmpp/client";
// Importing the verify client installs the WebSocket global @xmpp/websocket needs on Node 20.
import "../../scripts/lib/verify/xmpp";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_FOCUS = "http://jitsi.org/protocol/focus";

/**
 * A stand-in for jicofo's XMPP side: logs in as focus@<authDomain> (an admin, so it may create rooms),
 * announces itself to focus.<domain> (client_proxy), and answers a client's conference request the way
 * jicofo does: it joins the room as `<room>/focus` first, then says the conference is ready. It grants
 * no roles itself, as jicofo does with JICOFO_ENABLE_AUTH=0 and ENABLE_AUTO_OWNER=0.
 */
export interface Focus {
  /** Joins `<room>@<mucDomain>/focus` (creating the room) unless already in it. */
  openRoom(room: string): Promise<void>;
  /** Leaves the room; the room is destroyed when its last occupant leaves. */
  closeRoom(room: string): Promise<void>;
  /** Rooms (local part) the focus is in. */
  rooms(): string[];
  stop(): Promise<void>;
}

export interface FocusOptions {
  url: string;
  authDomain: string;
  mucDomain: string;
  password: string;
  timeoutMs?: number;
}

export async function startFocus(options: FocusOptions): Promise<Focus> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const xmpp: Client = client({
    service: options.url,
    domain: options.authDomain,
    resource: "focus",
    // PLAIN, which Prosody offers on the websocket it considers secure (consider_websocket_secure, as
    // behind the web container's TLS), checked against the same stored SCRAM hash. @xmpp/client would
    // pick SCRAM-SHA-1, whose 10,000 PBKDF2 rounds it runs as single WebCrypto calls: 1.5 s of CPU a login.
    credentials: async (authenticate, mechanisms) => {
      if (!mechanisms.includes("PLAIN"))
        throw new Error(`focus: Prosody offers no PLAIN login (only ${mechanisms.join(", ")})`);
      await authenticate({ username: "focus", password: options.password }, "PLAIN");
    },
  });
  xmpp.reconnect.stop();
  xmpp.on("error", () => undefined);
  const joined = new Map<string, Promise<void>>();
  const presenceWaiters = new Set<(stanza: Element) => void>();
  xmpp.on("stanza", (stanza: Element) => {
    if (stanza.is("presence")) for (const wake of presenceWaiters) wake(stanza);
  });

  const roomJid = (room: string) => `${room.toLowerCase()}@${options.mucDomain}`;
  const openRoom = (room: string): Promise<void> => {
    const jid = roomJid(room);
    const known = joined.get(jid);
    if (known) return known;
    const occupant = `${jid}/focus`;
    const entered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        presenceWaiters.delete(check);
        reject(new Error(`focus could not join ${jid} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (stanza: Element) => {
        if (stanza.attrs.from !== occupant) return;
        presenceWaiters.delete(check);
        clearTimeout(timer);
        if (stanza.attrs.type === "error")
          reject(new Error(`focus was refused ${jid}: ${stanza.toString()}`));
        else resolve();
      };
      presenceWaiters.add(check);
    });
    joined.set(jid, entered);
    entered.catch(() => joined.delete(jid));
    return xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC }))).then(() => entered);
  };

  xmpp.iqCallee.set(NS_FOCUS, "conference", async (ctx: { element: Element }) => {
    const room = ctx.element.attrs.room ?? "";
    await openRoom(room.split("@")[0]!);
    return xml("conference", { xmlns: NS_FOCUS, room, ready: "true" });
  });

  await xmpp.start();
  // client_proxy on focus.<domain> forwards requests only to focus sessions whose presence it received.
  await xmpp.send(xml("presence"));
  // Prosody handles one session's stanzas in order and delivers the presence to the local component
  // while handling it: once a ping sent after it is answered, client_proxy knows this session.
  await xmpp.iqCaller.request(
    xml("iq", { type: "get", to: options.authDomain }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    timeoutMs,
  );
  return {
    openRoom,
    async closeRoom(room: string) {
      const jid = roomJid(room);
      if (!joined.delete(jid)) return;
      await xmpp.send(xml("presence", { to: `${jid}/focus`, type: "unavailable" }));
    },
    rooms: () => [...joined.keys()].map((jid) => jid.split("@")[0]!),
    async stop() {
      await xmpp.stop().catch(() => undefined);
    },
  };
}
