/**
 * Client addresses for the failed sign-in limit, read with the WHATWG URL parser that both
 * runtimes ship. No address library: the issuer travels inside the VM's user-data in `host` mode,
 * and Hetzner caps user-data at 32 KiB.
 */

export interface Address {
  kind: "ipv4" | "ipv6";
  /** Canonical text: dotted quad, or RFC 5952 IPv6 as the URL parser prints it. */
  text: string;
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** An IPv4-mapped IPv6 address in canonical form (::ffff:a00:2 is 10.0.0.2). */
const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** Parses a strict dotted quad or an IPv6 address; an IPv4-mapped IPv6 address counts as IPv4. */
export function parseAddress(value: string | null | undefined): Address | undefined {
  const text = value?.trim() ?? "";
  if (DOTTED_QUAD.test(text)) return { kind: "ipv4", text };
  if (!text.includes(":")) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const mapped = MAPPED.exec(host);
  if (mapped) {
    const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return { kind: "ipv4", text: [high >> 8, high & 255, low >> 8, low & 255].join(".") };
  }
  return { kind: "ipv6", text: host };
}

/** The first four groups of a canonical IPv6 address: its /64. */
function prefix64(canonical: string): string {
  const [head = "", tail = ""] = canonical.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = canonical.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  // The URL parser prints the network address in canonical (RFC 5952) form, as it printed the address.
  return `${new URL(`http://[${groups.slice(0, 4).join(":")}::]/`).hostname.slice(1, -1)}/64`;
}

/**
 * The key a client address is counted under: IPv4 as is, IPv6 by its /64, since one subscriber
 * usually holds a whole /64 and could otherwise pick a fresh address per attempt. Undefined when
 * the text is not an address.
 */
export function addressKey(value: string | null | undefined): string | undefined {
  const address = parseAddress(value);
  if (!address) return undefined;
  return address.kind === "ipv4" ? address.text : prefix64(address.text);
}
