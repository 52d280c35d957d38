import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../../../issuer/claims";
import { tryJoin, type JoinAttempt, type JoinOutcome } from "../../../scripts/lib/verify/xmpp";
import { type JitsiProsody, startJitsiProsody } from "../../helpers/jitsiProsody";
import { renderedEnv, settingsWith, TEST_JWT_SECRET } from "../../helpers/settings";

// Real joins against Debian's Prosody configured by the release's templates from the .env this program
// renders (see test/helpers/jitsiProsody.ts), with tokens from the project's claim builder. The jicofo
// stand-in opens each room when asked, as jicofo does once JICOFO_ENABLE_AUTH=0 (it grants no roles).

const APP_ID = settingsWith().jwtAppId;
const SETTLE_MS = 300; // long enough to see a later affiliation change (muc_wait_for_host acts right after the join)

async function token(room: string, moderator: boolean, secret = TEST_JWT_SECRET): Promise<string> {
  const claims = buildRoomClaims(
    { appId: APP_ID },
    { room, user: { name: moderator ? "Host" : "Member" }, moderator, ttlSeconds: 300 },
    Date.now() / 1000,
  );
  return signRoomToken(await importHmacKey(secret), claims);
}

const freshRoom = () => `room-${randomBytes(4).toString("hex")}`;

/** Starts `first`; once it is in the room, runs `then`; `first` stays until `then` is over. */
async function whileIn(
  prosody: JitsiProsody,
  first: Omit<JoinAttempt, "settleMs" | "timeoutMs">,
  then: () => Promise<JoinOutcome>,
): Promise<[JoinOutcome, JoinOutcome]> {
  let joined: () => void = () => undefined;
  let done: (v: unknown) => void = () => undefined;
  const inRoom = new Promise<void>((resolve) => (joined = resolve));
  const finished = new Promise((resolve) => (done = resolve));
  const host = tryJoin(prosody.target, {
    ...first,
    settleMs: 0,
    timeoutMs: 10_000,
    onJoined: joined,
    stayUntil: finished,
  }).finally(joined);
  const second = await inRoom.then(then).finally(() => done(null));
  return [await host, second];
}

// The tests of each block share its Prosody and run at once: each uses its own fresh room (the focus
// stand-in opens and tracks rooms one by one), logins from 127.0.0.1 are exempt from mod_rate_limit, and
// muc_rate_limit counts joins per room. Most of their time is waiting on XMPP exchanges and SETTLE_MS.
describe.concurrent(
  "with guests on (the default): context.user.moderator decides, guests wait for a host",
  () => {
    let prosody: JitsiProsody;
    const join = (room: string, nick: string, extra: Partial<JoinAttempt> = {}) =>
      tryJoin(prosody.target, { room, nick, settleMs: SETTLE_MS, timeoutMs: 10_000, ...extra });
    const guest = (room: string, nick = "guest") => join(room, nick, { domain: prosody.guestDomain });

    beforeAll(async () => {
      prosody = await startJitsiProsody(renderedEnv());
    });
    afterAll(async () => prosody?.stop());

    it("a moderator: true token joins as owner", async () => {
      const room = freshRoom();
      expect(await join(room, "host", { token: await token(room, true) })).toEqual({
        kind: "joined",
        affiliation: "owner",
        role: "moderator",
      });
    });

    it("a moderator: false token joins as member", async () => {
      const room = freshRoom();
      expect(await join(room, "member", { token: await token(room, false) })).toEqual({
        kind: "joined",
        affiliation: "member",
        role: "participant",
      });
    });

    it("a member who leaves and joins again (a reload) is still member", async () => {
      const room = freshRoom();
      const memberToken = await token(room, false);
      const [first, again] = await whileIn(
        prosody,
        { room, nick: "keeps_room_open", token: await token(room, true) },
        async () => {
          const before = await join(room, "member", { token: memberToken });
          expect(before).toMatchObject({ kind: "joined", affiliation: "member" });
          return join(room, "member", { token: memberToken });
        },
      );
      expect(first).toMatchObject({ kind: "joined", affiliation: "owner" });
      expect(again).toEqual({ kind: "joined", affiliation: "member", role: "participant" });
    });

    it("a guest cannot open a room: before any token holder is in, the guest is held in the lobby", async () => {
      const room = freshRoom();
      expect(await guest(room)).toEqual({
        kind: "refused",
        stage: "join",
        condition: "registration-required",
      });
      // Still held on a second try: nobody with a token has come.
      expect(await guest(room, "guest2")).toMatchObject({
        kind: "refused",
        condition: "registration-required",
      });
    });

    it("a token holder arriving while guests wait is admitted at once (no knock screen), and then so are the guests", async () => {
      const room = freshRoom();
      expect(await guest(room)).toMatchObject({ kind: "refused", condition: "registration-required" });
      const [member, admitted] = await whileIn(
        prosody,
        { room, nick: "member", token: await token(room, false) },
        () => guest(room),
      );
      expect(member).toMatchObject({ kind: "joined", affiliation: "member" });
      expect(admitted).toEqual({ kind: "joined", affiliation: "none", role: "participant" });
    });

    it("a guest joins with no one clicking once a host is in the room", async () => {
      const room = freshRoom();
      const [host, admitted] = await whileIn(
        prosody,
        { room, nick: "host", token: await token(room, true) },
        () => guest(room),
      );
      expect(host).toMatchObject({ kind: "joined", affiliation: "owner" });
      expect(admitted).toEqual({ kind: "joined", affiliation: "none", role: "participant" });
    });

    it("a visitor with no token is refused", async () => {
      expect(await join(freshRoom(), "anon")).toEqual({
        kind: "refused",
        stage: "sasl",
        condition: "not-allowed",
        text: "token required",
      });
    });

    it("a token signed with another secret is refused", async () => {
      const room = freshRoom();
      const forged = await token(room, true, randomBytes(32).toString("hex"));
      expect(await join(room, "forger", { token: forged })).toMatchObject({
        kind: "refused",
        stage: "sasl",
        condition: "not-allowed",
        text: expect.stringMatching(/signature/i),
      });
    });

    it("a token for another room is refused", async () => {
      const room = freshRoom();
      expect(await join(room, "lost", { token: await token(`${room}-other`, true) })).toMatchObject({
        kind: "refused",
        stage: "join",
        condition: "not-allowed",
      });
    });
  },
);

describe.concurrent("with guests off", () => {
  let prosody: JitsiProsody;
  beforeAll(async () => {
    prosody = await startJitsiProsody(renderedEnv({ enableGuests: "false" }));
  });
  afterAll(async () => prosody?.stop());

  it("there is no guest domain, so a guest cannot even log in", async () => {
    expect(prosody.guestDomain).toBeUndefined();
    expect(
      await tryJoin(prosody.target, {
        room: freshRoom(),
        nick: "guest",
        domain: "guest.meet.jitsi",
        settleMs: 0,
        timeoutMs: 10_000,
      }),
    ).toMatchObject({ kind: "refused", stage: "connect", condition: "host-unknown" });
  });

  it("the moderator claim still decides, without the lobby component", async () => {
    expect(prosody.lobbyDomain).toBeUndefined();
    const room = freshRoom();
    const [host, member] = await whileIn(
      prosody,
      { room, nick: "host", token: await token(room, true) },
      async () =>
        tryJoin(prosody.target, {
          room,
          nick: "member",
          token: await token(room, false),
          settleMs: SETTLE_MS,
          timeoutMs: 10_000,
        }),
    );
    expect(host).toMatchObject({ kind: "joined", affiliation: "owner", role: "moderator" });
    expect(member).toMatchObject({ kind: "joined", affiliation: "member", role: "participant" });
  });
});
