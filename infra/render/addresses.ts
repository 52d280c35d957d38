import ipaddr from "ipaddr.js";

/**
 * Hetzner gives a primary IPv6 as a /64 network; the server answers on its first host address
 * (`<prefix>::1`). Accepts the network in CIDR form ("2001:db8:1:2::/64").
 */
export function firstHostAddress(network: string): string {
  const [address, prefix] = ipaddr.parseCIDR(network);
  if (address.kind() !== "ipv6") throw new Error(`expected an IPv6 network, got '${network}'`);
  if (prefix > 64) throw new Error(`expected a /64 or larger IPv6 network, got '${network}'`);
  const bytes = ipaddr.IPv6.networkAddressFromCIDR(network).toByteArray();
  bytes[15] = 1;
  return ipaddr.fromByteArray(bytes).toString();
}
