import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { buildRoomClaims, importHmacKey, meetingUrl, signRoomToken } from "../../issuer/claims";
import { checkWithPyJwt } from "./pyjwt";

const cfg = { appId: "jitsi-stack" };
const request = (room: string) => ({ room, user: { name: "Ada" }, moderator: false, ttlSeconds: 600 });

describe("room claims", () => {
  it("lower-case the room in the claim builder itself, as Prosody compares it", () => {
    // Every caller lower-cases first; this checks the builder does not rely on that.
    expect(buildRoomClaims(cfg, request("Daily-Standup"), 1_700_000_000).room).toBe("daily-standup");
    expect(buildRoomClaims(cfg, request("ROOM.1_A"), 1_700_000_000).room).toBe("room.1_a");
    expect(buildRoomClaims(cfg, request("*"), 1_700_000_000).room).toBe("*");
  });

  it.each(["\u212Aitchen", "\u0130stanbul", "ｋitchen", "kit chen", "a/b", "", ".x"])(
    "refuse to build a token for room %j, which is not one ASCII room name",
    (room) => {
      expect(() => buildRoomClaims(cfg, request(room), 1_700_000_000)).toThrow(/ASCII room name/);
    },
  );

  it("link the lower-cased room, with the token in the hash", () => {
    expect(meetingUrl("meet.example.com", "Daily-Standup", "t.k.n")).toBe(
      'https://meet.example.com/daily-standup#jwt="t.k.n"',
    );
  });

  it("sign the same token jose's SignJWT would, and PyJWT accepts it as Prosody does", async () => {
    const secret = randomBytes(32).toString("hex");
    const key = await importHmacKey(secret);
    const claims = buildRoomClaims(
      cfg,
      {
        ...request("Board"),
        user: { id: "u1", name: "Zoë", email: "z@example.com" },
        features: { recording: true },
      },
      1_700_000_000,
    );
    const ours = await signRoomToken(key, claims);
    const joses = await new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
    expect(ours).toBe(joses);
    const now = Math.floor(Date.now() / 1000);
    const fresh = await signRoomToken(key, buildRoomClaims(cfg, request("Board"), now));
    expect((await checkWithPyJwt("jitsi-stack", secret, fresh)).claims?.room).toBe("board");
  });
});
