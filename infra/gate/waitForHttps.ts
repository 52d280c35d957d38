import https from "node:https";
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from "node:tls";

/** The organisation of every intermediate of Let's Encrypt's staging CA (`letsencrypt_test` in acme.sh). */
export const LE_STAGING_ORGANISATION = "(STAGING) Let's Encrypt";

/**
 * The readiness gate that `pulumi up` runs on the deployer's machine (no SSH): it ends when
 * https://<domain> answers with a valid certificate, or fails with the last reason after a deadline.
 */

export interface GateOptions {
  url: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** With Let's Encrypt staging the chain is untrusted: accept it only if a staging CA issued it. */
  staging: boolean;
  /** Connect here instead of resolving the URL's host (tests; SNI and the Host header stay the URL's). */
  connectHost?: string;
  /** Extra trusted CA certificates in PEM (tests). */
  ca?: string;
}

export type Probe = { ok: true; detail: string } | { ok: false; reason: string };

export function probeOnce(options: GateOptions): Promise<Probe> {
  const url = new URL(options.url);
  return new Promise((resolve) => {
    const request = https.request(
      {
        host: options.connectHost ?? url.hostname,
        port: url.port || 443,
        path: url.pathname,
        method: "GET",
        servername: url.hostname,
        headers: { host: url.host, "user-agent": "jitsi-stack-readiness-gate" },
        rejectUnauthorized: !options.staging,
        ca: options.ca,
        timeout: 10_000,
        agent: false,
      },
      (response) => {
        const cert = (response.socket as TLSSocket).getPeerCertificate();
        response.resume();
        const issuer = [cert.issuer?.O, cert.issuer?.CN].filter(Boolean).join(" / ");
        const stagingProblem = options.staging
          ? judgeStagingCertificate(url.hostname, cert, new Date())
          : undefined;
        if (stagingProblem) {
          resolve({ ok: false, reason: stagingProblem });
        } else if ((response.statusCode ?? 500) >= 500) {
          resolve({ ok: false, reason: `HTTP ${response.statusCode}` });
        } else {
          resolve({
            ok: true,
            detail: `HTTP ${response.statusCode}, certificate issued by '${issuer}', valid to ${cert.valid_to}`,
          });
        }
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer within 10 s")));
    request.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, reason: error.code ? `${error.code}: ${error.message}` : error.message }),
    );
    request.end();
  });
}

/**
 * Staging chains are untrusted, so the checks the TLS stack would make are made here: the certificate
 * names the host, is current, and was issued by Let's Encrypt's staging CA, which is what
 * `LETSENCRYPT_ACME_SERVER=letsencrypt_test` yields. Anything else (a production certificate, a
 * self-signed one) is not what staging mode deploys.
 */
export function judgeStagingCertificate(
  hostname: string,
  cert: PeerCertificate,
  now: Date,
): string | undefined {
  const issuer = [cert.issuer?.O, cert.issuer?.CN].filter(Boolean).join(" / ");
  if (cert.issuer?.O !== LE_STAGING_ORGANISATION) {
    return `certificate issued by '${issuer}', not yet by Let's Encrypt staging`;
  }
  const mismatch = checkServerIdentity(hostname, cert);
  if (mismatch) return `staging certificate does not name ${hostname}: ${mismatch.message}`;
  if (now < new Date(cert.valid_from) || now > new Date(cert.valid_to)) {
    return `staging certificate is not valid now (valid ${cert.valid_from} to ${cert.valid_to})`;
  }
  return undefined;
}

export async function waitForHttps(
  options: GateOptions,
  log: (line: string) => void = console.log,
): Promise<string> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let last = "no attempt made";
  for (let attempt = 1; ; attempt++) {
    const probe = await probeOnce(options);
    if (probe.ok) return `${options.url} is ready: ${probe.detail}`;
    if (probe.reason !== last) log(`waiting for ${options.url} (attempt ${attempt}): ${probe.reason}`);
    last = probe.reason;
    if (Date.now() + options.intervalSeconds * 1000 > deadline) break;
    await new Promise((r) => setTimeout(r, options.intervalSeconds * 1000));
  }
  throw new Error(
    `${options.url} did not answer with a valid certificate within ${options.timeoutSeconds} s; last error: ${last}. ` +
      "Check DNS and that ports 80/443 are open; on the VM read /var/log/cloud-init-output.log and " +
      "`journalctl -u jitsi-meet` (docs/troubleshooting.md).",
  );
}

function fromEnvironment(env: NodeJS.ProcessEnv): GateOptions {
  const number = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${name} must be a positive number of seconds (got '${env[name]}')`);
    return value;
  };
  if (!env.GATE_URL?.startsWith("https://"))
    throw new Error(`GATE_URL must be an https:// URL (got '${env.GATE_URL ?? ""}')`);
  return {
    url: env.GATE_URL,
    timeoutSeconds: number("GATE_TIMEOUT_SECONDS", 900),
    intervalSeconds: number("GATE_INTERVAL_SECONDS", 10),
    staging: env.GATE_STAGING === "true",
    connectHost: env.GATE_CONNECT_HOST || undefined,
    ca: env.GATE_CA_PEM || undefined,
  };
}

if (require.main === module) {
  try {
    const options = fromEnvironment(process.env);
    waitForHttps(options).then(
      (message) => console.log(message),
      (error: Error) => {
        console.error(error.message);
        process.exit(1);
      },
    );
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
