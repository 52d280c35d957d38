import { client, xml } from "@xmpp/client";
import type { CheckResult } from "./checks";
import { type AllocateOutcome, turnAllocate, type TurnEndpoint } from "./turn";
import { endSession, websocketUrl, type XmppTarget } from "./xmpp";

const NS_EXTDISCO = "urn:xmpp:extdisco:2";

/** One entry of Prosody's XEP-0215 answer, as mod_external_services writes it. */
export interface ExternalService {
  type: string;
  transport?: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  expires?: string;
}

export interface TurnCheckOptions {
  /** The relay's hostname the stack configured (stack output turnHostname, or --turn-host). */
  hostname: string;
  /** PEM trust anchors for the relay's TLS certificate, replacing the system store (tests). */
  ca?: string;
  /** Where to connect for a service instead of its host and port (tests on loopback). */
  connect?: (service: ExternalService) => { host: string; port: number };
}

/**
 * Asks Prosody for external services as Jitsi's web client does once logged in (XEP-0215, version 2),
 * with a token in the websocket URL. Throws on a login or query failure.
 */
export async function queryExternalServices(
  target: XmppTarget,
  login: { room: string; token: string },
  timeoutMs: number,
): Promise<ExternalService[]> {
  const session = client({
    service: websocketUrl(target.url, login.room, login.token),
    domain: target.domain,
    resource: "verify",
  });
  session.reconnect.stop();
  session.on("error", () => undefined);
  try {
    await session.start();
    const answer = await session.iqCaller.request(
      xml("iq", { type: "get", to: target.domain }, xml("services", { xmlns: NS_EXTDISCO })),
      timeoutMs,
    );
    return (answer.getChild("services", NS_EXTDISCO)?.getChildren("service") ?? []).map((s) => ({
      type: String(s.attrs.type),
      transport: s.attrs.transport,
      host: String(s.attrs.host),
      port: Number(s.attrs.port),
      username: s.attrs.username,
      password: s.attrs.password,
      expires: s.attrs.expires,
    }));
  } finally {
    await endSession(session);
  }
}

const isTurn = (s: ExternalService) => s.type === "turn" || s.type === "turns";
const transportOf = (s: ExternalService): TurnEndpoint["transport"] =>
  s.type === "turns" ? "tls" : s.transport === "tcp" ? "tcp" : "udp";
const uriOf = (s: ExternalService) => `${s.type}:${s.host}:${s.port}?transport=${s.transport ?? "udp"}`;
const rowName = (s: ExternalService) =>
  `TURN over ${{ tls: "TLS", tcp: "TCP", udp: "UDP" }[transportOf(s)]} on ${s.port} allocates a relay`;

/** What Prosody must list: the relay over TLS, which strict firewalls let through, with time-limited credentials. */
export function judgeServices(services: ExternalService[], hostname: string): CheckResult {
  const name = "TURN credentials from Prosody (XEP-0215)";
  const turn = services.filter(isTurn);
  if (turn.length === 0) {
    return { name, ok: false, detail: "Prosody lists no TURN service; is TURN_HOST set in the VM's .env?" };
  }
  const elsewhere = turn.filter((s) => s.host !== hostname);
  if (elsewhere.length > 0) {
    return { name, ok: false, detail: `${elsewhere.map(uriOf).join(", ")} is not ${hostname}` };
  }
  if (!turn.some((s) => s.type === "turns")) {
    return { name, ok: false, detail: `no turns: (TLS) service among ${turn.map(uriOf).join(", ")}` };
  }
  const unsigned = turn.filter((s) => !s.username || !s.password || !s.expires);
  if (unsigned.length > 0) {
    return {
      name,
      ok: false,
      detail: `${unsigned.map(uriOf).join(", ")} comes without time-limited credentials; is TURN_CREDENTIALS set?`,
    };
  }
  return { name, ok: true, detail: `${turn.map(uriOf).join(", ")}; credentials until ${turn[0]!.expires}` };
}

function judgeAllocation(name: string, outcome: AllocateOutcome): CheckResult {
  if (outcome.kind === "allocated") return { name, ok: true, detail: `relayed address ${outcome.relayed}` };
  if (outcome.kind === "refused") {
    return { name, ok: false, detail: `refused: ${outcome.code} ${outcome.reason}` };
  }
  return { name, ok: false, detail: outcome.message };
}

function judgeBadCredential(name: string, outcome: AllocateOutcome): CheckResult {
  if (outcome.kind === "refused" && outcome.code === 401) {
    return { name, ok: true, detail: `refused: ${outcome.code} ${outcome.reason}` };
  }
  if (outcome.kind === "allocated") {
    return {
      name,
      ok: false,
      detail: `allocated ${outcome.relayed} with a wrong password: anyone can relay`,
    };
  }
  return {
    name,
    ok: false,
    detail:
      outcome.kind === "refused" ? `refused, but with ${outcome.code} ${outcome.reason}` : outcome.message,
  };
}

/**
 * The TURN rows: Prosody's services, one allocation per service with the credentials Prosody handed
 * out (TLS first), and a wrong password refused over TLS. Never throws.
 */
export async function turnChecks(
  target: XmppTarget,
  login: { room: string; token: string },
  options: TurnCheckOptions,
  timeoutMs: number,
): Promise<CheckResult[]> {
  let services: ExternalService[];
  try {
    services = await queryExternalServices(target, login, timeoutMs);
  } catch (error) {
    const e = error as Error & { condition?: string };
    // Without TURN_HOST the release's template leaves mod_external_services out, and nothing answers.
    const detail =
      e.condition === "service-unavailable" || e.condition === "feature-not-implemented"
        ? `Prosody does not answer XEP-0215 (${e.condition}): mod_external_services is not loaded; is TURN_HOST set in the VM's .env?`
        : e.message;
    return [{ name: "TURN credentials from Prosody (XEP-0215)", ok: false, detail }];
  }
  const listed = judgeServices(services, options.hostname);
  if (!listed.ok) return [listed];
  const turn = services
    .filter(isTurn)
    .sort((a, b) => Number(b.type === "turns") - Number(a.type === "turns"));
  const endpoint = (s: ExternalService): TurnEndpoint => {
    const address = options.connect?.(s) ?? { host: s.host, port: s.port };
    return { ...address, transport: transportOf(s), servername: s.host, ca: options.ca };
  };
  const results: CheckResult[] = [listed];
  for (const service of turn) {
    const credentials = { username: service.username!, password: service.password! };
    results.push(
      judgeAllocation(rowName(service), await turnAllocate(endpoint(service), credentials, timeoutMs)),
    );
  }
  const tls = turn[0]!;
  const wrong = { username: tls.username!, password: `${tls.password!}-wrong` };
  results.push(
    judgeBadCredential(
      `TURN refuses a wrong password (${transportOf(tls).toUpperCase()})`,
      await turnAllocate(endpoint(tls), wrong, timeoutMs),
    ),
  );
  return results;
}
