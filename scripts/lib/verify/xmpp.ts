import { randomUUID } from "node:crypto";
import { type Client, client, xml } from "@xmpp/client";
import { WebSocket as UndiciWebSocket } from "undici";

// @xmpp/websocket uses the WHATWG WebSocket global, which Node 20 has only behind a flag.
(globalThis as { WebSocket?: unknown }).WebSocket ??= UndiciWebSocket;

/** Where a client reaches Jitsi's Prosody; docker-jitsi-meet defaults in the comments. */
export interface XmppTarget {
  /** wss://<domain>/xmpp-websocket */
  url: string;
  /** meet.jitsi */
  domain: string;
  /** muc.meet.jitsi */
  mucDomain: string;
  /** focus.meet.jitsi: asked to create the room first, as the Jitsi client does. Absent: join directly. */
  focus?: string;
}

export interface JoinAttempt {
  room: string;
  token?: string;
  /** Log in to this XMPP domain instead of target.domain (the guest domain). */
  domain?: string;
  nick: string;
  /** How long to watch for a later affiliation change (jicofo or token_affiliation act after the join). */
  settleMs: number;
  timeoutMs: number;
  /** Also read the XMPP domain's disco#info identities (to find a lobby component). */
  discoDomain?: boolean;
  /** Called once the room has accepted us (another attempt may start then). */
  onJoined?: () => void;
  /** Stay in the room until this settles (e.g. while a guest tries to join). */
  stayUntil?: Promise<unknown>;
}

export type Stage = "connect" | "sasl" | "focus" | "join";

export type JoinOutcome =
  | { kind: "joined"; affiliation: string; role: string; identities?: Identity[] }
  | { kind: "refused"; stage: Stage; condition: string; text?: string }
  | { kind: "error"; stage: Stage; message: string };

export interface Identity {
  category: string;
  type: string;
  name?: string;
}

type Element = ReturnType<typeof xml>;

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_FOCUS = "http://jitsi.org/protocol/focus";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

/** Jitsi's client passes room and token in the websocket URL; mod_auth_token reads the token from there. */
export function websocketUrl(base: string, room: string, token?: string): string {
  const url = new URL(base);
  url.searchParams.set("room", room);
  if (token !== undefined) url.searchParams.set("token", token);
  return url.toString();
}

/** The defined-condition child and the text of an XMPP error (SASL failure, stream or stanza error). */
export function errorReason(element: Element | undefined): { condition: string; text?: string } {
  const errorEl = element?.getChild("error") ?? element;
  const children = (errorEl?.children ?? []).filter((c): c is Element => typeof c !== "string");
  const condition = children.find((c) => c.name !== "text")?.name ?? "unknown";
  const text = children.find((c) => c.name === "text")?.text() || undefined;
  return { condition, text };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to the ${what} within ${ms / 1000} s`)), ms);
    }),
  ]);
}

/**
 * Ends a session. A websocket that never opened (refused, or still connecting when our timeout gave up)
 * has no stream to close: it is only aborted. `stop()` would close the stream and then wait for the
 * socket's close or error event, up to @xmpp/connection's 2 s; on a refused websocket undici emits that
 * error inside the close call, before the wait begins, so every unreachable target cost 2 s per attempt.
 */
export async function endSession(xmpp: Client): Promise<void> {
  if (xmpp.status === "connecting") {
    try {
      xmpp.socket?.end();
    } catch {
      // Already closed: nothing to abort.
    }
    return;
  }
  await xmpp.stop().catch(() => undefined);
}

/**
 * Logs in (SASL ANONYMOUS, the token in the URL as Jitsi's client sends it), optionally asks focus to create
 * the room, joins the MUC and reads the affiliation from the self-presence's muc#user item. Every refusal
 * is returned with the stage and Prosody's condition and text.
 */
export async function tryJoin(target: XmppTarget, attempt: JoinAttempt): Promise<JoinOutcome> {
  const domain = attempt.domain ?? target.domain;
  const xmpp = client({
    service: websocketUrl(target.url, attempt.room, attempt.token),
    domain,
    resource: "verify",
  });
  xmpp.reconnect.stop();
  let streamError: { condition: string; text?: string } | undefined;
  xmpp.on("error", (error: { name?: string; element?: Element }) => {
    if (error.name === "StreamError") streamError = errorReason(error.element);
  });
  const stanzas: Element[] = [];
  const waiters = new Set<() => void>();
  xmpp.on("stanza", (stanza: Element) => {
    stanzas.push(stanza);
    for (const wake of waiters) wake();
  });
  const nextStanza = (match: (s: Element) => boolean, ms: number, what: string) =>
    withTimeout(
      new Promise<Element>((resolve) => {
        const check = () => {
          const found = stanzas.find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        check();
      }),
      ms,
      what,
    );

  try {
    try {
      await withTimeout(xmpp.start(), attempt.timeoutMs, "login");
    } catch (error) {
      const e = error as {
        name?: string;
        condition?: string;
        text?: string;
        element?: Element;
        message: string;
      };
      if (e.name === "SASLError") {
        return {
          kind: "refused",
          stage: "sasl",
          condition: e.condition ?? "unknown",
          text: e.text || undefined,
        };
      }
      if (streamError) return { kind: "refused", stage: "connect", ...streamError };
      if (e.name === "StreamError") return { kind: "refused", stage: "connect", ...errorReason(e.element) };
      return { kind: "error", stage: "connect", message: e.message };
    }

    const roomJid = `${attempt.room.toLowerCase()}@${target.mucDomain}`;
    if (target.focus) {
      const refusal = await askFocus(xmpp, target.focus, roomJid, attempt.timeoutMs);
      if (refusal) return refusal;
    }

    const occupant = `${roomJid}/${attempt.nick}`;
    await xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC })));
    const isSelf = (s: Element) => s.is("presence") && s.attrs.from === occupant;
    let first: Element;
    try {
      first = await nextStanza(isSelf, attempt.timeoutMs, "room join");
    } catch (error) {
      return { kind: "error", stage: "join", message: (error as Error).message };
    }
    if (first.attrs.type === "error") return { kind: "refused", stage: "join", ...errorReason(first) };
    attempt.onJoined?.();

    // Watch for later changes of our own affiliation before reading the final one.
    await new Promise((resolve) => setTimeout(resolve, attempt.settleMs));
    const item = stanzas
      .filter((s) => isSelf(s) && s.attrs.type !== "error")
      .map((s) => s.getChild("x", NS_MUC_USER)?.getChild("item"))
      .filter((i): i is Element => i !== undefined)
      .pop();
    const outcome: JoinOutcome = {
      kind: "joined",
      affiliation: String(item?.attrs.affiliation ?? "none"),
      role: String(item?.attrs.role ?? "none"),
    };
    if (attempt.discoDomain) outcome.identities = await domainIdentities(xmpp, domain, attempt.timeoutMs);
    await attempt.stayUntil?.catch(() => undefined);
    await xmpp.send(xml("presence", { to: occupant, type: "unavailable" })).catch(() => undefined);
    return outcome;
  } finally {
    await endSession(xmpp);
  }
}

async function askFocus(
  xmpp: ReturnType<typeof client>,
  focus: string,
  roomJid: string,
  timeoutMs: number,
): Promise<JoinOutcome | undefined> {
  const machineUid = randomUUID();
  for (let tries = 0; tries < 5; tries += 1) {
    try {
      const answer: Element = await xmpp.iqCaller.request(
        xml(
          "iq",
          { type: "set", to: focus },
          xml("conference", { xmlns: NS_FOCUS, room: roomJid, "machine-uid": machineUid }),
        ),
        timeoutMs,
      );
      if (answer.getChild("conference")?.attrs.ready === "true") return undefined;
    } catch (error) {
      const e = error as { name?: string; element?: Element; message: string };
      if (e.name === "StanzaError") return { kind: "refused", stage: "focus", ...errorReason(e.element) };
      return { kind: "error", stage: "focus", message: e.message };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { kind: "error", stage: "focus", message: "focus never said the conference is ready" };
}

async function domainIdentities(xmpp: ReturnType<typeof client>, domain: string, timeoutMs: number) {
  const answer: Element = await xmpp.iqCaller.request(
    xml("iq", { type: "get", to: domain }, xml("query", { xmlns: NS_DISCO_INFO })),
    timeoutMs,
  );
  return (answer.getChild("query", NS_DISCO_INFO)?.getChildren("identity") ?? []).map((i: Element) => ({
    category: String(i.attrs.category),
    type: String(i.attrs.type),
    name: i.attrs.name === undefined ? undefined : String(i.attrs.name),
  }));
}
