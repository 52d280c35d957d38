import { z } from "zod";
import { boolField, type FieldDoc, HOSTNAME_RE, intField, stringField } from "./fields";
import { HETZNER_LOCATIONS } from "./versions";

/** Settings of the TURN relay (see infra/turnServer.ts), part of the one settings schema. */

const SERVER_TYPE_RE = /^(cx|cpx|cax|ccx)\d{2}$/;
const PORT_RANGE_RE = /^(\d{1,5})-(\d{1,5})$/;
/** Ports the TURN VM itself uses: SSH, and port 80 while certbot answers Let's Encrypt's HTTP-01 check. */
const RESERVED_PORTS = [
  { port: 22, what: "SSH" },
  { port: 80, what: "certbot's HTTP-01 challenge" },
] as const;
/** Chrome refuses TURN on ports below 1024 other than these (net/base/port_util.cc). */
const BROWSER_LOW_PORTS = [53, 80, 443];
/** Fewer relay ports than this starves a busy relay: each allocation holds one port. */
const MIN_RELAY_PORTS = 1000;

const portField = (message: string) => intField(1, 65535, message);

export const turnFields = {
  turnEnabled: boolField("must be true or false").default(true),
  turnHostname: stringField("must be a hostname like turn.meet.example.com")
    .regex(HOSTNAME_RE, { error: "must be a hostname like turn.meet.example.com" })
    .optional(),
  turnServerType: stringField("must be a Hetzner server type like cx23")
    .regex(SERVER_TYPE_RE, { error: "must be a Hetzner server type like cx23 (2 vCPU, 4 GB) or cax11" })
    .default("cx23"),
  turnLocation: z
    .enum(HETZNER_LOCATIONS, { error: `must be a Hetzner location: ${HETZNER_LOCATIONS.join(", ")}` })
    .optional(),
  turnPort: portField("must be a port number from 1 to 65535, like 3478").default(3478),
  turnTlsPort: portField("must be a port number from 1 to 65535; 443 gets through most firewalls").default(
    443,
  ),
  turnRelayPorts: stringField("must be a port range like 49152-65535")
    .regex(PORT_RANGE_RE, { error: "must be a port range like 49152-65535", abort: true })
    .refine(
      (range) => {
        const [low, high] = range.split("-").map(Number) as [number, number];
        return low >= 1024 && high <= 65535 && high - low + 1 >= MIN_RELAY_PORTS;
      },
      { error: `must be a range of at least ${MIN_RELAY_PORTS} ports within 1024-65535, like 49152-65535` },
    )
    .default("49152-65535"),
  turnCredentialTtlSeconds: intField(
    3600,
    604800,
    "must be a whole number of seconds from 3600 to 604800 (one hour to a week)",
  ).default(86400),
  turnSecret: z
    .string({ error: "must be a string" })
    .refine((s) => s.length >= 32, {
      error: "must be at least 32 characters; generate one with: openssl rand -hex 32",
      abort: true,
    })
    .refine((s) => /^[A-Za-z0-9._~+/-]+$/.test(s), {
      // It lands unquoted in coturn's config and the .env, and inside a Lua string in Prosody's config.
      error:
        "may hold only letters, digits and . _ ~ + / - (hex works); generate one with: openssl rand -hex 32",
    })
    .optional(),
};

export const TURN_DOCS: Record<keyof typeof turnFields, FieldDoc> = {
  turnEnabled: {
    doc: "Run a TURN relay (coturn on a small VM of its own) so people behind UDP-blocking firewalls get media.",
    example: "false",
    default: "true",
  },
  turnHostname: {
    doc: "Hostname of the TURN relay (a DNS-only A/AAAA record and its Let's Encrypt certificate).",
    example: "relay.example.com",
    default: "turn.<domain>",
  },
  turnServerType: {
    doc: "Hetzner server type of the TURN VM.",
    example: "cpx22",
    default: "cx23",
  },
  turnLocation: { doc: "Hetzner location of the TURN VM.", example: "fsn1", default: "same as location" },
  turnPort: { doc: "Port of plain TURN over UDP and TCP.", example: "3479", default: "3478" },
  turnTlsPort: {
    doc: "Port of TURN over TLS; 443 is what strict firewalls let through.",
    example: "5349",
    default: "443",
  },
  turnRelayPorts: {
    doc: "UDP ports the relay allocates from (opened in the TURN VM's firewall).",
    example: "40000-49999",
    default: "49152-65535",
  },
  turnCredentialTtlSeconds: {
    doc: "How long the TURN credentials that Prosody hands a browser stay valid (`TURN_TTL`); must outlast a meeting.",
    example: "43200",
    default: "86400",
  },
  turnSecret: {
    doc: "Secret shared by coturn (`static-auth-secret`) and Prosody (`TURN_CREDENTIALS`). Set with `--secret`.",
    example: "$(openssl rand -hex 32)",
    default: "generated and kept in state",
    secret: true,
  },
};

type TurnRaw = { [K in keyof typeof turnFields]: z.output<(typeof turnFields)[K]> } & {
  domain: string;
  location: (typeof HETZNER_LOCATIONS)[number];
  issuerTarget: string;
  issuerHostname?: string;
};

export interface TurnSettings {
  enabled: boolean;
  /** turn.<domain> unless set. */
  hostname: string;
  serverType: string;
  location: (typeof HETZNER_LOCATIONS)[number];
  /** Plain TURN, UDP and TCP. */
  port: number;
  /** TURN over TLS (TCP). */
  tlsPort: number;
  relayPorts: { min: number; max: number };
  credentialTtlSeconds: number;
}

function parseRange(range: string): { min: number; max: number } {
  const [min, max] = range.split("-").map(Number) as [number, number];
  return { min, max };
}

export function turnRules(s: Partial<TurnRaw>, report: (key: string, message: string) => void): void {
  if (s.turnEnabled === false) return;
  if (s.domain !== undefined) {
    const hostname = s.turnHostname ?? `turn.${s.domain}`;
    if (hostname === s.domain) {
      report(
        "turnHostname",
        `must differ from jitsi:domain: coturn takes TCP ${s.turnTlsPort ?? 443} on its own VM, so the meeting site would lose its name; use turn.${s.domain}`,
      );
    }
    const issuerHostname = s.issuerHostname ?? `token.${s.domain}`;
    if (s.issuerTarget === "worker" && hostname === issuerHostname) {
      report(
        "turnHostname",
        `must differ from the token issuer's hostname ${issuerHostname}; use turn.${s.domain}`,
      );
    }
  }
  const listeners = [
    { key: "turnPort", port: s.turnPort },
    { key: "turnTlsPort", port: s.turnTlsPort },
  ].filter((l): l is { key: string; port: number } => l.port !== undefined);
  const relay = s.turnRelayPorts === undefined ? undefined : parseRange(s.turnRelayPorts);
  for (const { key, port } of listeners) {
    const reserved = RESERVED_PORTS.find((r) => r.port === port);
    if (reserved) {
      report(key, `clashes with ${reserved.what} on port ${port} of the TURN VM; use another port`);
    } else if (port < 1024 && !BROWSER_LOW_PORTS.includes(port)) {
      report(
        key,
        `must be ${BROWSER_LOW_PORTS.join(", ")} or 1024-65535: browsers refuse TURN on other ports below 1024`,
      );
    } else if (relay && port >= relay.min && port <= relay.max) {
      report(
        key,
        `clashes with jitsi:turnRelayPorts ${relay.min}-${relay.max}; pick a port outside the relay range`,
      );
    }
  }
  if (listeners.length === 2 && listeners[0]!.port === listeners[1]!.port) {
    report(
      "turnTlsPort",
      `clashes with jitsi:turnPort (both ${listeners[0]!.port}): TLS and plain TURN need ports of their own`,
    );
  }
}

export function resolveTurn(s: TurnRaw): TurnSettings {
  return {
    enabled: s.turnEnabled,
    hostname: s.turnHostname ?? `turn.${s.domain}`,
    serverType: s.turnServerType,
    location: s.turnLocation ?? s.location,
    port: s.turnPort,
    tlsPort: s.turnTlsPort,
    relayPorts: parseRange(s.turnRelayPorts),
    credentialTtlSeconds: s.turnCredentialTtlSeconds,
  };
}
