import type { ReportViolation, ResourceValidationPolicy } from "@pulumi/policy";
import { proxiedMeetingRecord, type DnsRecordInputs } from "./dns";
import { meetingPortsClosed, sshOpenToInternet, type FirewallRule } from "./firewall";
import { describeFinding, findPlaintextSecrets, type Finding, reveal } from "./secrets";
import {
  unpinnedRelease,
  unprotectedProductionServer,
  unprotectedProductionVolume,
  type ServerInputs,
} from "./server";

/** Type tokens of the resources the policies read (the program declares them in infra/). */
export const TYPES = {
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  volume: "hcloud:index/volume:Volume",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
} as const;

type Props = Record<string, unknown>;

/** A policy that applies one pure check to every resource of one type. */
function checkType(
  type: string,
  check: (props: Props) => string[],
): (args: { type: string; name: string; props: Props }, report: ReportViolation) => void {
  return (args, report) => {
    if (args.type !== type) return;
    for (const message of check(args.props)) report(`${args.name}: ${message}`);
  };
}

/**
 * What the secrets policy's remediate pass found, by URN, for its validate pass to report.
 * Holds paths and kinds only, never a value.
 */
const secretFindings = new Map<string, Finding[]>();

export const policies: ResourceValidationPolicy[] = [
  {
    name: "no-ssh-from-internet",
    description: "No firewall rule opens SSH (22/tcp) to 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.firewall, (p) => sshOpenToInternet(p.rules as FirewallRule[])),
  },
  {
    name: "meeting-ports-open",
    description: "The firewall opens 80/tcp, 443/tcp and 10000/udp to IPv4 and IPv6.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.firewall, (p) => meetingPortsClosed(p.rules as FirewallRule[])),
  },
  {
    name: "meeting-dns-not-proxied",
    description: "Meeting DNS records are never proxied through Cloudflare.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.dnsRecord, (p) => proxiedMeetingRecord(p as DnsRecordInputs)),
  },
  {
    name: "production-server-protected",
    description: "A server in a production stack has delete and rebuild protection.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.server, (p) => unprotectedProductionServer(p as ServerInputs)),
  },
  {
    name: "production-volume-protected",
    description: "The state volume of a production stack has delete protection.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.volume, (p) => unprotectedProductionVolume(p)),
  },
  {
    name: "jitsi-release-pinned",
    description: "The Jitsi release is pinned by tag and commit (server labels jitsi-release, jitsi-commit).",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.server, (p) => unpinnedRelease(p as ServerInputs)),
  },
  {
    name: "no-plaintext-secrets",
    description: "No plaintext secret lands in any resource input.",
    // Only the remediate pass sees which inputs are secrets (see secrets.ts); validation of a
    // "remediate" policy is reported as mandatory.
    enforcementLevel: "remediate",
    remediateResource: (args) => {
      secretFindings.set(args.urn, findPlaintextSecrets(reveal(args.props)));
      return undefined;
    },
    validateResource: (args, report) => {
      const findings = secretFindings.get(args.urn);
      if (findings === undefined) {
        report(
          `${args.name}: was not scanned for plaintext secrets because the remediate pass did not run; ` +
            "keep this policy's enforcement level at 'remediate'",
        );
        return;
      }
      for (const finding of findings) report(`${args.name}: ${describeFinding(finding)}`);
    },
  },
];
