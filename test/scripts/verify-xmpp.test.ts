import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryJoin, type JoinAttempt, type XmppTarget } from "../../scripts/lib/verify/xmpp";
import { startProsody, type ProsodyFixture } from "../helpers/prosody";

const attempt = (overrides: Partial<JoinAttempt> = {}): JoinAttempt => ({
  room: "standup",
  nick: "verify-1",
  settleMs: 300,
  timeoutMs: 5000,
  ...overrides,
});

/** Runs a second attempt once the first has joined; the first stays in the room until the second is over. */
function deferred() {
  let start: () => void = () => undefined;
  let finish: (value: unknown) => void = () => undefined;
  const started = new Promise<void>((resolve) => (start = resolve));
  const done = new Promise((resolve) => (finish = resolve));
  return {
    start: () => start(),
    done,
    run: <T>(fn: () => Promise<T>) => started.then(fn).finally(() => finish(null)),
  };
}

// The tests of this block share one Prosody and run at once: each joins a room of its own.
describe.concurrent("XMPP over websocket against Debian's Prosody", () => {
  let prosody: ProsodyFixture;
  let target: XmppTarget;
  beforeAll(async () => {
    prosody = await startProsody({ guests: true });
    target = { url: prosody.url, domain: prosody.domain, mucDomain: prosody.mucDomain };
  });
  afterAll(async () => prosody?.stop());

  it("logs in, joins a room, and reads the owner affiliation of the room's creator", async () => {
    const outcome = await tryJoin(
      target,
      attempt({ room: "first-room", token: "not-checked-here", discoDomain: true }),
    );
    expect(outcome).toMatchObject({ kind: "joined", affiliation: "owner", role: "moderator" });
    expect(outcome.kind === "joined" && outcome.identities).toContainEqual(
      expect.objectContaining({ category: "server" }),
    );
  });

  it("reads a later joiner's affiliation (none) while the room is occupied", async () => {
    const second = deferred();
    const [host, late] = await Promise.all([
      tryJoin(
        target,
        attempt({ room: "busy", nick: "host", onJoined: second.start, stayUntil: second.done }),
      ),
      second.run(() => tryJoin(target, attempt({ room: "busy", nick: "late" }))),
    ]);
    expect(host).toMatchObject({ kind: "joined", affiliation: "owner" });
    expect(late).toMatchObject({ kind: "joined", affiliation: "none", role: "participant" });
  });

  it("joins through the guest domain when it exists", async () => {
    const outcome = await tryJoin(target, attempt({ domain: prosody.guestDomain, room: "guests-welcome" }));
    expect(outcome).toMatchObject({ kind: "joined" });
  });

  it("reports a domain the server does not serve as refused at connect, with Prosody's condition", async () => {
    const outcome = await tryJoin(target, attempt({ domain: "nope.meet.jitsi" }));
    expect(outcome).toMatchObject({ kind: "refused", stage: "connect", condition: "host-unknown" });
  });

  it("reports a nickname clash as a refused join", async () => {
    const second = deferred();
    const [first, clash] = await Promise.all([
      tryJoin(
        target,
        attempt({ room: "clash", nick: "same", onJoined: second.start, stayUntil: second.done }),
      ),
      second.run(() => tryJoin(target, attempt({ room: "clash", nick: "same" }))),
    ]);
    expect(first.kind).toBe("joined");
    expect(clash).toMatchObject({ kind: "refused", stage: "join", condition: "conflict" });
  });

  it("reports an unreachable websocket as an error, not a refusal", async () => {
    const outcome = await tryJoin({ ...target, url: "ws://127.0.0.1:1/xmpp-websocket" }, attempt());
    expect(outcome).toMatchObject({ kind: "error", stage: "connect" });
  });
});

// Each test starts its own Prosody on a free port: they run at once.
describe.concurrent("Prosody's refusal texts reach the report", () => {
  it("a MUC refusal carries its condition and text", async () => {
    const prosody = await startProsody({ restrictRoomCreation: true });
    try {
      const target = { url: prosody.url, domain: prosody.domain, mucDomain: prosody.mucDomain };
      expect(await tryJoin(target, attempt())).toEqual({
        kind: "refused",
        stage: "join",
        condition: "not-allowed",
        text: "Room creation is restricted",
      });
    } finally {
      await prosody.stop();
    }
  });

  // Debian's Prosody has no token module, so it never fails SASL ANONYMOUS; a stream-level refusal is the
  // nearest real failure during login. The SASL stage itself is seen only on a live deployment.
  it("a refusal during login carries Prosody's condition and text", async () => {
    const prosody = await startProsody({ requireEncryption: true });
    try {
      const target = { url: prosody.url, domain: prosody.domain, mucDomain: prosody.mucDomain };
      expect(await tryJoin(target, attempt())).toEqual({
        kind: "refused",
        stage: "connect",
        condition: "undefined-condition",
        text: "No stream features to proceed with",
      });
    } finally {
      await prosody.stop();
    }
  });

  it("asking a focus that does not exist is reported at the focus stage", async () => {
    const prosody = await startProsody();
    try {
      const target = {
        url: prosody.url,
        domain: prosody.domain,
        mucDomain: prosody.mucDomain,
        focus: "focus.meet.jitsi",
      };
      expect(await tryJoin(target, attempt())).toMatchObject({ kind: "refused", stage: "focus" });
    } finally {
      await prosody.stop();
    }
  });
});
