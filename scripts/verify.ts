import { readFileSync } from "node:fs";
import {
  exitWith,
  EXIT,
  intFlag,
  type Io,
  parseFlags,
  processIo,
  stackFlag,
  UsageError,
} from "./lib/shared/cli";
import { type CommandRunner, spawnRunner } from "./lib/shared/runner";
import { sshLocalCall } from "./lib/bridges/bridgeApi";
import { readStackOutputs, type StackOutputs } from "./lib/shared/stack-outputs";
import type { BridgeCheckOptions } from "./lib/verify/bridges";
import { recorderTarget, stackVmTarget } from "./lib/shared/ssh";
import { formatTable } from "./lib/verify/checks";
import { recorderChecks, type RecorderTarget } from "./lib/verify/recorders";
import { runVerify, type VerifyOptions } from "./lib/verify/run";

export const VERIFY_HELP = `Usage: npm run verify -- --stack STACK

The post-deploy check. Reads the stack outputs, then checks:
  - HTTPS answers with a valid certificate (chain, hostname, at least 7 days left);
  - the served config.js has prejoin off, token auth on (hosts.authdomain) and a guest domain only
    when guests are on;
  - over the XMPP websocket (as Jitsi's client: focus creates the room, then the MUC join), with tokens
    signed by the stack's JWT secret: a moderator token joins as owner, a non-moderator token as member,
    and still as member after leaving and joining again; no token, a bad signature, an expired token
    and a token for another room are refused (Prosody's reason is shown); the lobby component is there
    only with the lobby or guests on; with guests on, a guest who comes first is held in the lobby, a
    token holder who comes while it waits gets straight in (no knock screen), and a guest gets in once
    a token holder is in; with guests off, guests are refused;
  - the token issuer, when deployed, returns a token that verifies and joins;
  - the TURN relay, when deployed: Prosody hands a token holder TURN credentials for the stack's
    relay (XEP-0215, as the browser asks), each service it lists allocates a relay with them (TLS on
    443 first, then TCP and UDP), and a wrong password is refused;
  - with extra bridges (jitsi:bridges): every bridge jicofo sees, with its load (participants,
    conferences, stress), read over SSH from the VMs' loopback APIs; a declared bridge jicofo does
    not see, or one on another version, fails.
  - each recorder, when recording is on (over SSH, its host key pinned): Jibri's own health and
    busy state, that the bucket takes a probe object with the recorder's keys (written, verified,
    deleted), and how many recordings wait for upload.
Prints a pass/fail table. Tokens and secrets are never printed.

  --stack STACK          Pulumi stack whose outputs describe the deployment
  --settle-ms N          wait after a join for affiliation changes (default 3000)
  --timeout-ms N         per-step timeout (default 15000)
  --help                 show this text

Explicit target (instead of the stack outputs; secrets come from the environment, never from flags):
  --url URL              the meeting URL, https://meet.example.com/ (with --url, outputs are not read)
  --app-id ID            JWT app id (needs VERIFY_JWT_SECRET in the environment)
  --guests on|off        whether guests are enabled (default off)
  --issuer-url URL       the token issuer, https (http only on 127.0.0.1, ::1, localhost);
                         needs VERIFY_ISSUER_API_KEY in the environment
  --turn-host HOST        the TURN relay's hostname, turn.meet.example.com (default: no TURN rows)
  --ca FILE              PEM file of trusted CAs, replacing the system store
XMPP overrides (default: what config.js names):
  --xmpp-url URL  --xmpp-domain D  --muc-domain D  --guest-domain D  --no-focus

Exit codes: 0 every check passed; 1 a check failed; 2 bad usage.`;

const FLAGS = {
  stack: { type: "string" },
  url: { type: "string" },
  "app-id": { type: "string" },
  guests: { type: "string" },
  "issuer-url": { type: "string" },
  "turn-host": { type: "string" },
  ca: { type: "string" },
  "xmpp-url": { type: "string" },
  "xmpp-domain": { type: "string" },
  "muc-domain": { type: "string" },
  "guest-domain": { type: "string" },
  "no-focus": { type: "boolean" },
  "settle-ms": { type: "string" },
  "timeout-ms": { type: "string" },
  help: { type: "boolean" },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

function urlFlag(flag: string, raw: string | undefined, schemes: string[]): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `verify: --${flag} must be a URL like ${schemes[0]}//meet.example.com/ (got '${raw}').`,
    );
  }
  if (!schemes.includes(url.protocol)) {
    throw new UsageError(`verify: --${flag} must start with ${schemes.join(" or ")}// (got '${raw}').`);
  }
  return raw;
}

/** Hosts where plain http never leaves the machine. */
const LOOPBACK_HOSTS = ["127.0.0.1", "[::1]", "localhost"];

/** The issuer URL carries the API key, so it must be https, or http that stays on this machine. */
function issuerUrlFlag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  const loopbackHttp = url?.protocol === "http:" && LOOPBACK_HOSTS.includes(url.hostname);
  if (url?.protocol !== "https:" && !loopbackHttp) {
    throw new UsageError(
      `verify: --issuer-url must be https://, or http:// only on 127.0.0.1, ::1 or localhost, because the API key travels with it (got '${raw}').`,
    );
  }
  return raw;
}

function domainFlag(flag: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !DOMAIN_RE.test(raw)) {
    throw new UsageError(`verify: --${flag} must be a domain like meet.jitsi (got '${raw}').`);
  }
  return raw;
}

function secretFromEnv(name: string, why: string): string {
  const value = process.env[name];
  if (!value) throw new UsageError(`verify: ${why} needs the environment variable ${name}.`);
  return value;
}

async function deployment(flags: Flags, run: CommandRunner) {
  const url = urlFlag("url", flags.url, ["https:"]);
  const turnHost = domainFlag("turn-host", flags["turn-host"]);
  const issuerUrl = issuerUrlFlag(flags["issuer-url"]);
  if (url) {
    if (!flags["app-id"]) throw new UsageError("verify: --url needs --app-id (the JWT app id).");
    if (flags.guests !== undefined && !["on", "off"].includes(flags.guests)) {
      throw new UsageError(`verify: --guests must be on or off (got '${flags.guests}').`);
    }
    return {
      meetingUrl: url,
      appId: flags["app-id"],
      jwtSecret: secretFromEnv("VERIFY_JWT_SECRET", "--url"),
      guestsEnabled: flags.guests === "on",
      issuer: issuerUrl
        ? { url: issuerUrl, apiKey: secretFromEnv("VERIFY_ISSUER_API_KEY", "--issuer-url") }
        : undefined,
      turnHostname: turnHost,
    };
  }
  for (const flag of ["app-id", "guests", "issuer-url", "turn-host"] as const) {
    if (flags[flag] !== undefined)
      throw new UsageError(`verify: --${flag} needs --url (otherwise the stack outputs decide).`);
  }
  const stack = stackFlag("verify", flags.stack);
  const outputs = await readStackOutputs(stack, run);
  const apiKey = outputs.issuerApiKeys?.[0];
  return {
    meetingUrl: outputs.meetingUrl,
    appId: outputs.jwtAppId,
    jwtSecret: outputs.jwtAppSecret,
    guestsEnabled: outputs.guestsEnabled,
    prejoinEnabled: outputs.prejoinEnabled ?? false,
    lobbyEnabled: outputs.lobbyEnabled ?? false,
    issuer: outputs.issuerUrl && apiKey ? { url: outputs.issuerUrl, apiKey } : undefined,
    turnHostname: outputs.turnHostname,
    bridges: bridgeTargets(outputs),
    recorders: (outputs.recorders ?? []).map((r): RecorderTarget => ({
      name: `recorder-${r.index} (${r.ipv4})`,
      ssh: recorderTarget(outputs, r),
    })),
  };
}

/** With extra bridges: jicofo on the meeting VM and each bridge, over SSH to their loopback APIs. */
function bridgeTargets(outputs: StackOutputs): BridgeCheckOptions | undefined {
  if (!outputs.bridgeHosts || outputs.bridgeHosts.length === 0) return undefined;
  const over = (host: string, hostPublicKey: string | undefined) =>
    sshLocalCall(stackVmTarget(outputs, host, hostPublicKey));
  return {
    jicofo: over(outputs.sshHost, outputs.sshHostPublicKey),
    bridges: outputs.bridgeHosts.map((b) => ({
      nickname: b.nickname,
      call: over(b.ipv4, b.sshHostPublicKey),
    })),
    meetingBridge: outputs.meetingBridge ?? true,
  };
}

export async function verifyMain(argv: string[], io: Io = processIo, run: CommandRunner = spawnRunner) {
  const flags = parseFlags("verify", FLAGS, argv);
  if (flags.help) {
    io.out(VERIFY_HELP);
    return EXIT.ok;
  }
  if (flags.url === undefined && flags.stack === undefined) {
    throw new UsageError(
      "verify: --stack is required (the Pulumi stack name, like dev), or --url for an explicit target.",
    );
  }
  let ca: string | undefined;
  if (flags.ca !== undefined) {
    try {
      ca = readFileSync(flags.ca, "utf8");
    } catch (error) {
      throw new UsageError(
        `verify: --ca ${flags.ca} cannot be read (${(error as NodeJS.ErrnoException).code}).`,
      );
    }
  }
  // Every flag is checked before the stack outputs are read.
  const xmpp = {
    url: urlFlag("xmpp-url", flags["xmpp-url"], ["wss:", "ws:"]),
    domain: domainFlag("xmpp-domain", flags["xmpp-domain"]),
    mucDomain: domainFlag("muc-domain", flags["muc-domain"]),
    guestDomain: domainFlag("guest-domain", flags["guest-domain"]),
    noFocus: flags["no-focus"] ?? false,
  };
  const settleMs = intFlag("verify", "settle-ms", flags["settle-ms"], 3000, 0, 60_000);
  const timeoutMs = intFlag("verify", "timeout-ms", flags["timeout-ms"], 15_000, 1000, 120_000);
  const { turnHostname, recorders = [], ...target } = await deployment(flags, run);
  const options: VerifyOptions = {
    ...target,
    turn: turnHostname ? { hostname: turnHostname, ca } : undefined,
    ca,
    xmpp,
    settleMs,
    timeoutMs,
    onResult: (r) => io.err(`  ${r.ok ? (r.warning ? "WARN" : "pass") : "FAIL"}  ${r.name}`),
  };
  io.err(`Verifying ${options.meetingUrl}`);
  const results = await runVerify(options);
  for (const row of await recorderChecks(recorders)) {
    options.onResult?.(row);
    results.push(row);
  }
  io.out(formatTable(results));
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

if (require.main === module) exitWith(() => verifyMain(process.argv.slice(2)));
