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
import { bridgeFirewallNotExact, roleOf, turnFirewallNotExact, unknownRole, unpinnedCoturn } from "./turn";

/** Type tokens of the resources the policies read (the program declares them in infra/). */
export const TYPES = {
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  volume: "hcloud:index/volume:Volume",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
} as const;

type Props = Record<string, unknown>;

const labelsOf = (props: Props) => props.labels as Record<string, string> | undefined;

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
    name: "known-role",
    description:
      "Every firewall and server has a role the pack knows (the meeting VM has no role label; turn, bridge, recorder).",
    enforcementLevel: "mandatory",
    validateResource: [
      checkType(TYPES.firewall, (p) => unknownRole(labelsOf(p))),
      checkType(TYPES.server, (p) => unknownRole(labelsOf(p))),
    ],
  },
  {
    name: "meeting-ports-open",
    description: "The meeting VM's firewall opens 80/tcp, 443/tcp and 10000/udp to IPv4 and IPv6.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.firewall, (p) =>
      roleOf(labelsOf(p)) === "meeting" ? meetingPortsClosed(p.rules as FirewallRule[]) : [],
    ),
  },
  {
    name: "turn-firewall-exact",
    description:
      "A TURN relay's firewall opens its TURN ports, its relay range and 80/tcp to IPv4 and IPv6, SSH at most, and nothing else.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.firewall, (p) =>
      roleOf(labelsOf(p)) === "turn" ? turnFirewallNotExact(p.rules as FirewallRule[], labelsOf(p)) : [],
    ),
  },
  {
    name: "bridge-firewall-exact",
    description: "A bridge's firewall opens 10000/udp to IPv4 and IPv6, SSH at most, and nothing else.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.firewall, (p) =>
      roleOf(labelsOf(p)) === "bridge" ? bridgeFirewallNotExact(p.rules as FirewallRule[]) : [],
    ),
  },
  {
    name: "meeting-dns-not-proxied",
    description: "Meeting DNS records are never proxied through Cloudflare.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.dnsRecord, (p) => proxiedMeetingRecord(p as DnsRecordInputs)),
  },
  {
    name: "production-server-protected",
    description:
      "A server in a production stack has delete and rebuild protection, except a bridge, which holds no state and which scaling in deletes.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.server, (p) =>
      roleOf(labelsOf(p)) === "bridge" ? [] : unprotectedProductionServer(p as ServerInputs),
    ),
  },
  {
    name: "production-volume-protected",
    description: "The state volume of a production stack has delete protection.",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.volume, (p) => unprotectedProductionVolume(p)),
  },
  {
    name: "jitsi-release-pinned",
    description:
      "The Jitsi release of the meeting VM and of every bridge is pinned by tag and commit (server labels jitsi-release, jitsi-commit).",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.server, (p) =>
      ["meeting", "bridge"].includes(roleOf(labelsOf(p))) ? unpinnedRelease(p as ServerInputs) : [],
    ),
  },
  {
    name: "coturn-pinned",
    description: "The TURN relay runs a pinned coturn version (server label coturn-version).",
    enforcementLevel: "mandatory",
    validateResource: checkType(TYPES.server, (p) =>
      roleOf(labelsOf(p)) === "turn" ? unpinnedCoturn(p as ServerInputs) : [],
    ),
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
