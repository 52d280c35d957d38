/** A `cloudflare.DnsRecord`, as the policy sees its inputs. */
export interface DnsRecordInputs {
  name?: string;
  type?: string;
  proxied?: boolean;
}

/**
 * Violations of "meeting DNS records are never proxied": Cloudflare's proxy carries only HTTP(S),
 * so the videobridge's UDP media and Let's Encrypt's HTTP-01 check would not reach the VM.
 */
export function proxiedMeetingRecord(record: DnsRecordInputs): string[] {
  if (record.proxied !== true) return [];
  return [
    `${record.type ?? "record"} ${record.name ?? "(unnamed)"} is proxied through Cloudflare; ` +
      "set proxied: false so UDP media (10000/udp) and certificate checks reach the server",
  ];
}
