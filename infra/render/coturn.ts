import ipaddr from "ipaddr.js";
import type { TurnSettings } from "../../config/turn";
import { COTURN, TURN_VM_LAYOUT } from "../../config/versions";

/** One line of coturn's configuration: an option, with a value or as a flag, and why it is there. */
export interface CoturnOption {
  key: string;
  value?: string;
  secret?: boolean;
  why?: string;
}

/**
 * Peers the relay refuses. A relay that reaches these is an open proxy into the VM's networks: the
 * metadata service (169.254.169.254 serves the user-data, secrets included), Hetzner private networks
 * (10/8) and Docker's bridges (172.16/12, 192.168/16). Public addresses stay allowed: the bridges'
 * addresses and the other side of a peer-to-peer call, including this relay's own (relay to relay).
 * No entry for "::": coturn refuses unspecified peers on its own, and 4.6.1 reads a lone "::" as a
 * range that refuses every peer (the tests found it).
 */
export const DENIED_PEERS: ReadonlyArray<{ cidr: string; why: string }> = [
  { cidr: "0.0.0.0/8", why: "this network" },
  { cidr: "10.0.0.0/8", why: "private (Hetzner private networks)" },
  { cidr: "100.64.0.0/10", why: "carrier-grade NAT" },
  { cidr: "127.0.0.0/8", why: "loopback" },
  { cidr: "169.254.0.0/16", why: "link-local, with the metadata service 169.254.169.254" },
  { cidr: "172.16.0.0/12", why: "private (Docker's default bridges)" },
  { cidr: "192.0.0.0/24", why: "IETF protocol assignments" },
  { cidr: "192.168.0.0/16", why: "private (Docker's address pools)" },
  { cidr: "198.18.0.0/15", why: "benchmarking" },
  { cidr: "224.0.0.0/4", why: "multicast" },
  { cidr: "240.0.0.0/4", why: "reserved and broadcast" },
  { cidr: "::1/128", why: "loopback" },
  { cidr: "::ffff:0:0/96", why: "IPv4-mapped: would bypass the IPv4 rules" },
  { cidr: "64:ff9b::/96", why: "NAT64: would bypass the IPv4 rules" },
  { cidr: "64:ff9b:1::/48", why: "local-use NAT64" },
  { cidr: "100::/64", why: "discard-only" },
  { cidr: "fc00::/7", why: "unique local (ULA)" },
  { cidr: "fe80::/10", why: "link-local" },
  { cidr: "ff00::/8", why: "multicast" },
];

/** coturn 4.6 takes ranges as first-last, not as CIDRs. */
export function cidrToRange(cidr: string): string {
  const family = ipaddr.parseCIDR(cidr)[0].kind() === "ipv4" ? ipaddr.IPv4 : ipaddr.IPv6;
  const first = family.networkAddressFromCIDR(cidr).toString();
  const last = family.broadcastAddressFromCIDR(cidr).toString();
  return first === last ? first : `${first}-${last}`;
}

export interface CoturnInput {
  turn: TurnSettings;
  /** Shared with Prosody (`TURN_CREDENTIALS`). */
  secret: string;
}

/** coturn's configuration as data, in the order it is written. */
export function coturnOptions(input: CoturnInput): CoturnOption[] {
  const { turn } = input;
  return [
    { key: "realm", value: turn.hostname },
    { key: "server-name", value: turn.hostname },
    {
      key: "use-auth-secret",
      why: "Time-limited credentials only (TURN REST API): Prosody hands browsers username = expiry time, password = base64 HMAC-SHA1 of it. No static users.",
    },
    { key: "static-auth-secret", value: input.secret, secret: true },
    { key: "listening-port", value: String(turn.port), why: "Plain TURN, UDP and TCP." },
    {
      key: "tls-listening-port",
      value: String(turn.tlsPort),
      why: "TURN over TLS: what strict firewalls let through.",
    },
    {
      key: "min-port",
      value: String(turn.relayPorts.min),
      why: "The relay ports, bounded and opened in the firewall.",
    },
    { key: "max-port", value: String(turn.relayPorts.max) },
    {
      key: "cert",
      value: `${TURN_VM_LAYOUT.certDir}/fullchain.pem`,
      why: "Let's Encrypt, reloaded on SIGUSR2.",
    },
    { key: "pkey", value: `${TURN_VM_LAYOUT.certDir}/privkey.pem` },
    { key: "no-tlsv1" },
    { key: "no-tlsv1_1" },
    { key: "no-dtls", why: "Browsers speak TURN over UDP, TCP and TLS, never DTLS." },
    { key: "no-tcp-relay", why: "Browsers relay media over UDP only; a TCP relay would proxy anything." },
    { key: "no-multicast-peers" },
    { key: "fingerprint" },
    { key: "stale-nonce", value: "600" },
    { key: "no-cli", why: "No admin interface at all." },
    { key: "no-rfc5780", why: "No NAT behaviour discovery: it needs a second address and amplifies." },
    { key: "no-stun-backward-compatibility" },
    { key: "response-origin-only-with-rfc5780" },
    { key: "no-software-attribute", why: "Do not announce the version." },
    { key: "syslog" },
    ...DENIED_PEERS.map(({ cidr, why }) => ({
      key: "denied-peer-ip",
      value: cidrToRange(cidr),
      why: `No relay to: ${why}.`,
    })),
  ];
}

const SAFE_VALUE = /^[A-Za-z0-9._~+/:-]+$/;

/** The configuration file's text; with `redact`, the secret is replaced by `[secret]`. */
export function formatCoturnConfig(
  options: readonly CoturnOption[],
  format: { redact?: boolean } = {},
): string {
  const lines = [`# Written by jitsi-stack for coturn ${COTURN.version}; see README.md, "TURN".`];
  for (const option of options) {
    if (option.value !== undefined && !SAFE_VALUE.test(option.value)) {
      const shown = option.secret ? "a secret value" : `'${option.value}'`;
      throw new Error(`coturn option ${option.key} has ${shown} with characters coturn would misread`);
    }
    if (option.why) lines.push(`# ${option.why}`);
    if (option.value === undefined) lines.push(option.key);
    else lines.push(`${option.key}=${option.secret && format.redact ? "[secret]" : option.value}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The drop-in for Ubuntu's coturn.service. The package's unit runs as the unprivileged turnserver
 * user with the package's /etc/turnserver.conf, which allows anonymous relaying.
 */
export function coturnDropIn(): string {
  return [
    "[Unit]",
    "# Never start before the certificate is in place, so never half-configured.",
    `ConditionPathExists=${TURN_VM_LAYOUT.certDir}/fullchain.pem`,
    "",
    "[Service]",
    "ExecStart=",
    `ExecStart=/usr/bin/turnserver -c ${TURN_VM_LAYOUT.configFile} --pidfile=`,
    "# coturn re-reads its TLS certificate and key on SIGUSR2 (since 4.5.0.8); the deploy hook reloads.",
    "ExecReload=/bin/kill -USR2 $MAINPID",
    "# TURN over TLS on 443 as the unprivileged turnserver user.",
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "LimitNOFILE=65536",
    "",
  ].join("\n");
}

/** apt preferences that hold coturn at the pinned upstream version, Ubuntu's rebuilds included. */
export function coturnAptPin(): string {
  return ["Package: coturn", `Pin: version ${COTURN.version}-*`, "Pin-Priority: 1001", ""].join("\n");
}
