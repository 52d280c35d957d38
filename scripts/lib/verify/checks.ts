import type { Identity, JoinOutcome } from "./xmpp";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** Passed, but something needs a look soon (printed as WARN; the exit code stays 0). */
  warning?: boolean;
}

const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
const fail = (name: string, detail: string): CheckResult => ({ name, ok: false, detail });

/** Under this many days the certificate fails: renewal has been broken for three weeks. */
export const MIN_CERT_DAYS = 7;
/** The VM renews when under 30 days remain (infra/render/vmUnits.ts); below that, renewal is overdue. */
export const WARN_CERT_DAYS = 30;

export function judgeCertificate(validTo: Date, issuer: string, now: Date): CheckResult {
  const days = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
  const detail = `valid until ${validTo.toISOString().slice(0, 10)} (${days} days), issuer ${issuer}`;
  if (days < MIN_CERT_DAYS) {
    return fail("HTTPS certificate", `${detail}: renewal is not working (check the web container's logs)`);
  }
  if (days < WARN_CERT_DAYS) {
    return {
      ...pass(
        "HTTPS certificate",
        `${detail}: renewal is due; check 'journalctl -u jitsi-stack-renew-cert' on the VM`,
      ),
      warning: true,
    };
  }
  return pass("HTTPS certificate", detail);
}

interface JitsiConfig {
  prejoinConfig?: { enabled?: unknown };
  prejoinPageEnabled?: unknown;
  hosts?: { domain?: unknown; authdomain?: unknown; anonymousdomain?: unknown; muc?: unknown };
  websocket?: unknown;
}

/** What the served config.js must show for this deployment: prejoin off, token auth on, guests as set. */
export function judgeConfig(
  raw: Record<string, unknown>,
  guestsEnabled: boolean,
  prejoinEnabled = false,
): CheckResult[] {
  const config = raw as JitsiConfig;
  const prejoin = config.prejoinConfig?.enabled ?? config.prejoinPageEnabled;
  const hosts = config.hosts ?? {};
  const results = [
    prejoin === prejoinEnabled
      ? pass(
          `config.js: prejoin ${prejoinEnabled ? "on" : "off"}`,
          `prejoinConfig.enabled is ${String(prejoin)}`,
        )
      : fail(
          `config.js: prejoin ${prejoinEnabled ? "on" : "off"}`,
          `prejoinConfig.enabled is ${JSON.stringify(prejoin)}; ENABLE_PREJOIN_PAGE does not match jitsi:enablePrejoin`,
        ),
    typeof hosts.authdomain === "string" && hosts.authdomain === hosts.domain
      ? pass("config.js: token auth", `hosts.authdomain is ${hosts.authdomain} (ENABLE_AUTH=1)`)
      : fail(
          "config.js: token auth",
          `hosts.authdomain is ${JSON.stringify(hosts.authdomain)}; ENABLE_AUTH=1 is not in effect`,
        ),
  ];
  const guestDomain = typeof hosts.anonymousdomain === "string" ? hosts.anonymousdomain : undefined;
  results.push(
    Boolean(guestDomain) === guestsEnabled
      ? pass(
          "config.js: guests as configured",
          guestDomain ? `guest domain ${guestDomain}` : "no guest domain",
        )
      : fail(
          "config.js: guests as configured",
          `guests are ${guestsEnabled ? "on" : "off"} in the stack but config.js has ${guestDomain ? `guest domain ${guestDomain}` : "no guest domain"}`,
        ),
  );
  return results;
}

export function describeOutcome(outcome: JoinOutcome): string {
  if (outcome.kind === "joined") return `joined as ${outcome.affiliation} (role ${outcome.role})`;
  if (outcome.kind === "refused") {
    return `refused at ${outcome.stage}: ${outcome.condition}${outcome.text ? ` "${outcome.text}"` : ""}`;
  }
  return `error at ${outcome.stage}: ${outcome.message}`;
}

export function judgeJoin(name: string, outcome: JoinOutcome, affiliation: string): CheckResult {
  const seen = describeOutcome(outcome);
  if (outcome.kind === "joined" && outcome.affiliation === affiliation) return pass(name, seen);
  return fail(name, `expected to join as ${affiliation}, but ${seen}`);
}

/** A token holder must get in, not meet the lobby's knock screen (registration-required). */
export function judgeEntered(name: string, outcome: JoinOutcome): CheckResult {
  const seen = describeOutcome(outcome);
  if (outcome.kind === "joined") return pass(name, seen);
  if (outcome.kind === "refused" && outcome.condition === "registration-required") {
    return fail(name, `sent to the lobby (knock screen): ${seen}`);
  }
  return fail(name, `expected to get in, but ${seen}`);
}

/**
 * With guests on, a guest who comes before any token holder is held in the lobby: Prosody answers the
 * join with registration-required (muc_wait_for_host); the client waits there and is let in later.
 */
export function judgeHeld(name: string, outcome: JoinOutcome): CheckResult {
  const seen = describeOutcome(outcome);
  if (
    outcome.kind === "refused" &&
    outcome.stage === "join" &&
    outcome.condition === "registration-required"
  ) {
    return pass(name, `held in the lobby (${outcome.condition})`);
  }
  if (outcome.kind === "joined") {
    return fail(name, `the guest opened the room (${seen}); muc_wait_for_host is not in effect`);
  }
  return fail(name, `expected to be held in the lobby, but ${seen}`);
}

/** A refusal passes only when Prosody refused (with its reason); joining or a network error fails. */
export function judgeRefusal(name: string, outcome: JoinOutcome): CheckResult {
  const seen = describeOutcome(outcome);
  return outcome.kind === "refused" ? pass(name, seen) : fail(name, `expected a refusal, but ${seen}`);
}

/**
 * Jitsi's lobby module announces its MUC as a disco identity of type "lobbyrooms" on the XMPP domain. It
 * is there when jitsi:enableLobby asks for it, and whenever guests are on (they wait there for a host).
 */
export function judgeLobby(
  identities: Identity[] | undefined,
  lobbyEnabled = false,
  guestsEnabled = false,
): CheckResult {
  const expected = lobbyEnabled || guestsEnabled;
  const name = `lobby ${expected ? "on" : "off"}`;
  if (!identities) return fail(name, "could not read the XMPP domain's disco#info");
  const lobby = identities.find((i) => i.type === "lobbyrooms");
  const why = lobbyEnabled ? "" : guestsEnabled ? " (guests wait there for a host)" : "";
  if (Boolean(lobby) === expected) {
    return pass(
      name,
      lobby ? `lobby component ${lobby.name ?? ""}${why}` : "no lobbyrooms component on the XMPP domain",
    );
  }
  return fail(
    name,
    lobby
      ? `the lobby component ${lobby.name ?? ""} is loaded; ENABLE_LOBBY does not match jitsi:enableLobby`
      : `no lobbyrooms component on the XMPP domain; ENABLE_LOBBY does not match ${guestsEnabled ? "jitsi:enableGuests (guests need it)" : "jitsi:enableLobby"}`,
  );
}

export function judgeGuests(outcome: JoinOutcome, guestsEnabled: boolean): CheckResult {
  const name = guestsEnabled
    ? "guest gets in once a token holder is in (no one clicks)"
    : "guests refused (guests off)";
  if (guestsEnabled) {
    return outcome.kind === "joined"
      ? pass(name, describeOutcome(outcome))
      : fail(name, `expected the guest to join, but ${describeOutcome(outcome)}`);
  }
  if (outcome.kind === "joined")
    return fail(name, `a guest ${describeOutcome(outcome)} although guests are off`);
  // Only the server's own refusal shows that guests are off: a network error or timeout shows nothing.
  return outcome.kind === "refused"
    ? pass(name, describeOutcome(outcome))
    : fail(name, `expected the server to refuse the guest, but ${describeOutcome(outcome)}`);
}

/** The table verify prints: one row per check, then a summary line. */
export function formatTable(results: CheckResult[]): string {
  const width = Math.max(5, ...results.map((r) => r.name.length));
  const lines = [`${"CHECK".padEnd(width)}  RESULT  DETAIL`];
  for (const r of results)
    lines.push(`${r.name.padEnd(width)}  ${(r.ok ? "pass" : "FAIL").padEnd(6)}  ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  lines.push(
    failed === 0 ? `All ${results.length} checks passed.` : `${failed} of ${results.length} checks failed.`,
  );
  return lines.join("\n");
}
