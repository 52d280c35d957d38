import { randomBytes } from "node:crypto";
import { jwtVerify } from "jose";
import { buildRoomClaims, importHmacKey, signRoomToken } from "../../../issuer/claims";
import {
  type CheckResult,
  describeOutcome,
  judgeCertificate,
  judgeConfig,
  judgeEntered,
  judgeGuests,
  judgeHeld,
  judgeJoin,
  judgeLobby,
  judgeRefusal,
} from "./checks";
import { httpsGet, readJitsiConfig } from "./https";
import { type BridgeCheckOptions, bridgeChecks } from "./bridges";
import { type TurnCheckOptions, turnChecks } from "./turnChecks";
import { type JoinAttempt, type JoinOutcome, tryJoin, type XmppTarget } from "./xmpp";

export interface VerifyOptions {
  /** https://<domain>/ */
  meetingUrl: string;
  /** PEM trust anchors replacing the system store (tests). */
  ca?: string;
  appId: string;
  /** Signs the test tokens; never printed. */
  jwtSecret: string;
  guestsEnabled: boolean;
  /** What the stack configured; the deployment has both off. */
  prejoinEnabled?: boolean;
  lobbyEnabled?: boolean;
  /** Parts of the XMPP target to use instead of what config.js names (tests, or a custom setup). */
  xmpp: Partial<XmppTarget> & { guestDomain?: string; noFocus?: boolean };
  issuer?: { url: string; apiKey: string };
  /** The TURN relay the stack runs: its credentials from Prosody, allocations, a wrong password refused. */
  turn?: TurnCheckOptions;
  /** The extra bridges: what jicofo sees, read over SSH from the VMs' loopback APIs. */
  bridges?: BridgeCheckOptions;
  settleMs: number;
  timeoutMs: number;
  now?: () => Date;
  /** Reports each check as it finishes (progress). */
  onResult?: (result: CheckResult) => void;
}

interface Context {
  options: VerifyOptions;
  results: CheckResult[];
}

function record(ctx: Context, result: CheckResult) {
  ctx.results.push(result);
  ctx.options.onResult?.(result);
}

/** Runs every post-deploy check and returns one row per check; never throws for a failed check. */
export async function runVerify(options: VerifyOptions): Promise<CheckResult[]> {
  const ctx: Context = { options, results: [] };
  const now = options.now ?? (() => new Date());
  const base = options.meetingUrl.endsWith("/") ? options.meetingUrl : `${options.meetingUrl}/`;

  let config: Record<string, unknown> | undefined;
  try {
    const page = await httpsGet(base, { ca: options.ca, timeoutMs: options.timeoutMs });
    const cert = judgeCertificate(page.certificate.validTo, page.certificate.issuer, now());
    record(
      ctx,
      page.status < 400
        ? cert
        : { ...cert, ok: false, detail: `${cert.detail}; but ${base} answered HTTP ${page.status}` },
    );
    const configJs = await httpsGet(`${base}config.js`, { ca: options.ca, timeoutMs: options.timeoutMs });
    if (configJs.status !== 200) throw new Error(`config.js answered HTTP ${configJs.status}`);
    config = readJitsiConfig(configJs.body);
    for (const result of judgeConfig(config, options.guestsEnabled, options.prejoinEnabled))
      record(ctx, result);
  } catch (error) {
    record(ctx, {
      name: config ? "config.js" : "HTTPS certificate",
      ok: false,
      detail: (error as Error).message,
    });
  }

  if (options.bridges) for (const result of await bridgeChecks(options.bridges)) record(ctx, result);

  const target = xmppTarget(options, config);
  if (!target) {
    record(ctx, {
      name: "XMPP target",
      ok: false,
      detail: "config.js gave no websocket URL; pass --xmpp-url",
    });
    return ctx.results;
  }
  await xmppChecks(ctx, target, now);
  if (options.issuer) await issuerCheck(ctx, target, options.issuer, now);
  if (options.turn) await turnCheck(ctx, target, options.turn, now);
  return ctx.results;
}

function xmppTarget(options: VerifyOptions, config: Record<string, unknown> | undefined) {
  const hosts = (config?.hosts ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const url = options.xmpp.url ?? str(config?.websocket);
  const domain = options.xmpp.domain ?? str(hosts.domain) ?? "meet.jitsi";
  if (!url) return undefined;
  return {
    url,
    domain,
    mucDomain: options.xmpp.mucDomain ?? str(hosts.muc) ?? `muc.${domain}`,
    focus: options.xmpp.noFocus ? undefined : (options.xmpp.focus ?? `focus.${domain}`),
    guestDomain: options.xmpp.guestDomain ?? str(hosts.anonymousdomain) ?? `guest.${domain}`,
  };
}

async function xmppChecks(ctx: Context, target: XmppTarget & { guestDomain: string }, now: () => Date) {
  const { options } = ctx;
  const key = await importHmacKey(options.jwtSecret);
  const room = `verify-${randomBytes(5).toString("hex")}`;
  const seconds = Math.floor(now().getTime() / 1000);
  const mint = async (moderator: boolean, overrides: { room?: string; at?: number; key?: CryptoKey } = {}) =>
    signRoomToken(
      overrides.key ?? key,
      buildRoomClaims(
        { appId: options.appId },
        { room: overrides.room ?? room, user: { name: "jitsi-stack verify" }, moderator, ttlSeconds: 300 },
        overrides.at ?? seconds,
      ),
    );
  const attempt = (nick: string, token?: string, extra: Partial<JoinAttempt> = {}): JoinAttempt => ({
    room,
    nick,
    token,
    settleMs: options.settleMs,
    timeoutMs: options.timeoutMs,
    ...extra,
  });

  // MUC nicks are resources: muc_resource_validate refuses anything but letters, digits and "_".
  // With guests on, a guest who comes first is held in the lobby (nobody but a token holder opens a
  // room); the moderator then comes while it waits and must get straight in.
  if (options.guestsEnabled) {
    const early = await tryJoin(
      target,
      attempt("verify_early_guest", undefined, { domain: target.guestDomain, settleMs: 0 }),
    );
    record(ctx, judgeHeld("guest is held until a token holder is in", early));
  }
  // Then a guest tries while the moderator is in (the moderator stays until that attempt is over).
  const moderatorToken = await mint(true);
  let hostIn: () => void = () => undefined;
  const hostJoined = new Promise<void>((resolve) => (hostIn = resolve));
  let guestDone: (value: unknown) => void = () => undefined;
  const guestFinished = new Promise((resolve) => (guestDone = resolve));
  const moderatorAttempt = tryJoin(
    target,
    attempt("verify_owner", moderatorToken, {
      discoDomain: true,
      onJoined: hostIn,
      stayUntil: guestFinished,
    }),
  ).finally(hostIn);
  const guest = await hostJoined.then(() =>
    tryJoin(target, attempt("verify_guest", undefined, { domain: target.guestDomain })).finally(() =>
      guestDone(null),
    ),
  );
  const moderator = await moderatorAttempt;
  record(ctx, judgeJoin("moderator: true token joins as owner", moderator, "owner"));
  if (options.guestsEnabled) {
    record(ctx, judgeEntered("token holder gets in while a guest waits (no knock screen)", moderator));
  }
  record(
    ctx,
    moderator.kind === "joined"
      ? judgeLobby(moderator.identities, options.lobbyEnabled, options.guestsEnabled)
      : { name: "lobby", ok: false, detail: `not checked: ${describeOutcome(moderator)}` },
  );
  const memberToken = await mint(false);
  record(
    ctx,
    judgeJoin(
      "moderator: false token joins as member",
      await tryJoin(target, attempt("verify_member", memberToken)),
      "member",
    ),
  );
  // A reload: the same token leaves and joins again (jicofo used to make every re-joiner owner).
  record(
    ctx,
    judgeJoin(
      "member is still member after leaving and joining again",
      await tryJoin(target, attempt("verify_member", memberToken)),
      "member",
    ),
  );

  const wrongKey = await importHmacKey(randomBytes(32).toString("hex"));
  const refusals: [string, Promise<JoinOutcome>][] = [
    ["no token is refused", tryJoin(target, attempt("verify_anon"))],
    [
      "bad signature is refused",
      mint(true, { key: wrongKey }).then((t) => tryJoin(target, attempt("verify_badsig", t))),
    ],
    [
      "expired token is refused",
      mint(true, { at: seconds - 3600 }).then((t) => tryJoin(target, attempt("verify_expired", t))),
    ],
    [
      "token for another room is refused",
      mint(true, { room: `${room}-other` }).then((t) => tryJoin(target, attempt("verify_otherroom", t))),
    ],
  ];
  for (const [name, outcome] of refusals) record(ctx, judgeRefusal(name, await outcome));
  record(ctx, judgeGuests(guest, options.guestsEnabled));
}

async function issuerCheck(
  ctx: Context,
  target: XmppTarget,
  issuer: { url: string; apiKey: string },
  now: () => Date,
) {
  const name = "issuer returns a working token";
  const room = `verify-${randomBytes(5).toString("hex")}`;
  try {
    const endpoint = new URL("v1/token", issuer.url.endsWith("/") ? issuer.url : `${issuer.url}/`);
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { authorization: `Bearer ${issuer.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ room, user: { name: "jitsi-stack verify" }, moderator: true, ttlSeconds: 120 }),
      signal: AbortSignal.timeout(ctx.options.timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as {
      token?: unknown;
      error?: { message?: string };
    };
    if (response.status !== 200 || typeof body.token !== "string") {
      record(ctx, {
        name,
        ok: false,
        detail: `${endpoint.origin} answered HTTP ${response.status}: ${body.error?.message ?? "no token"}`,
      });
      return;
    }
    const key = await importHmacKey(ctx.options.jwtSecret);
    await jwtVerify(body.token, key, { issuer: ctx.options.appId, currentDate: now() });
    const outcome = await tryJoin(target, {
      room,
      nick: "verify_issued",
      token: body.token,
      settleMs: ctx.options.settleMs,
      timeoutMs: ctx.options.timeoutMs,
    });
    record(ctx, judgeJoin(name, outcome, "owner"));
  } catch (error) {
    record(ctx, { name, ok: false, detail: (error as Error).message });
  }
}

/** Logs in as a token holder (any will do: Prosody hands TURN credentials to every client) and checks TURN. */
async function turnCheck(ctx: Context, target: XmppTarget, turn: TurnCheckOptions, now: () => Date) {
  const room = `verify-${randomBytes(5).toString("hex")}`;
  const token = await signRoomToken(
    await importHmacKey(ctx.options.jwtSecret),
    buildRoomClaims(
      { appId: ctx.options.appId },
      { room, user: { name: "jitsi-stack verify" }, moderator: false, ttlSeconds: 300 },
      Math.floor(now().getTime() / 1000),
    ),
  );
  for (const result of await turnChecks(target, { room, token }, turn, ctx.options.timeoutMs)) {
    record(ctx, result);
  }
}
