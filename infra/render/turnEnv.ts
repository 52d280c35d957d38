import type { TurnSettings } from "../../config/turn";
import type { EnvEntry } from "./jitsiEnv";

/**
 * The prosody container's TURN variables. With TURN_HOST or TURNS_HOST set, the release's
 * prosody.cfg.lua loads `external_services` and, with TURN_CREDENTIALS, hands each browser
 * credentials that expire after TURN_TTL seconds (XEP-0215, coturn's use-auth-secret scheme).
 */
export function turnEnvEntries(turn: TurnSettings, secret: string): EnvEntry[] {
  if (!turn.enabled) return [];
  const plain = (name: string, value: string): EnvEntry => ({ name, value, secret: false });
  return [
    { name: "TURN_CREDENTIALS", value: secret, secret: true },
    plain("TURN_HOST", turn.hostname),
    plain("TURN_PORT", String(turn.port)),
    // One service per transport. Browsers keep only TCP (and TLS) entries for the bridge, all for P2P.
    plain("TURN_TRANSPORT", "udp,tcp"),
    plain("TURNS_HOST", turn.hostname),
    plain("TURNS_PORT", String(turn.tlsPort)),
    plain("TURN_TTL", String(turn.credentialTtlSeconds)),
  ];
}
