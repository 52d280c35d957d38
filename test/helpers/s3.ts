import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * An S3-compatible server on 127.0.0.1 for the recording upload tests: s3rver (objects on disk, MD5
 * ETags, multipart uploads) behind a front that checks every request's AWS Signature V4 with the
 * AWS SDK's own signer, because s3rver itself checks only the access key id of V4 requests. A request
 * signed with a wrong secret gets S3's `SignatureDoesNotMatch`, an unknown key `InvalidAccessKeyId`.
 */
export interface S3Server {
  /** http://127.0.0.1:<port>: the endpoint clients use (the checking front). */
  endpoint: string;
  port: number;
  /** s3rver's store: objects are files named <bucket>/<key>._S3rver_object. */
  directory: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Requests that passed the signature check, as "METHOD path". */
  accepted: string[];
  /** Requests refused for their signature or key. */
  refused: number;
  close(): Promise<void>;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** node:crypto's SHA-256 and HMAC-SHA256 in the shape the signer expects (@smithy/types Checksum). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}

/** The signature the request should carry if it was signed with `secret`. */
async function expectedSignature(
  req: http.IncomingMessage,
  credential: { accessKeyId: string; region: string; signedHeaders: string[] },
  secret: string,
): Promise<string> {
  const url = new URL(req.url ?? "/", "http://placeholder");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const previous = query[key];
    query[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const headers: Record<string, string> = {};
  for (const name of credential.signedHeaders) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value.join(",") : (value ?? "");
  }
  const amzDate = headers["x-amz-date"] ?? String(req.headers["x-amz-date"] ?? "");
  const signingDate = new Date(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"),
  );
  const signer = new SignatureV4({
    service: "s3",
    region: credential.region,
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: secret },
    sha256: NodeSha256,
    // S3 signs the path as sent, without the second encoding other services use.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? "GET",
      protocol: "http:",
      hostname: "placeholder",
      // The path exactly as sent: S3 signs it once-encoded.
      path: (req.url ?? "/").split("?")[0]!,
      query,
      headers,
    },
    { signingDate, signableHeaders: new Set(credential.signedHeaders) },
  );
  const authorization = signed.headers.authorization ?? signed.headers.Authorization ?? "";
  return /Signature=([0-9a-f]{64})/.exec(authorization)?.[1] ?? "";
}

export async function startS3Server(
  options: { buckets?: string[]; accessKeyId?: string; secretAccessKey?: string } = {},
): Promise<S3Server> {
  const accessKeyId = options.accessKeyId ?? "JITSISTACKTEST";
  const secretAccessKey = options.secretAccessKey ?? "test-secret-key-0123456789abcdef";
  const directory = mkdtempSync(path.join(os.tmpdir(), "jitsi-s3-"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships CommonJS without typings
  const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
    run(): Promise<net.AddressInfo>;
    close(): Promise<void>;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver's account registry
  const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account") as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const backend = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? ["recordings"]).map((name) => ({ name })),
  });
  const backendAddress = await backend.run();

  const server: S3Server = {
    endpoint: "",
    port: 0,
    directory,
    accessKeyId,
    secretAccessKey,
    accepted: [],
    refused: 0,
    close: async () => {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      front.closeAllConnections();
      await closed;
      await backend.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };

  const front = http.createServer((req, res) => {
    void (async () => {
      const match = AUTH_RE.exec(String(req.headers.authorization ?? ""));
      if (!match) {
        server.refused++;
        return s3Error(res, 403, "AccessDenied", "Only AWS Signature Version 4 requests are accepted.");
      }
      const [, keyId, , region, signedHeaders, signature] = match as unknown as string[];
      if (keyId !== accessKeyId) {
        server.refused++;
        return s3Error(
          res,
          403,
          "InvalidAccessKeyId",
          "The AWS Access Key Id you provided does not exist in our records.",
        );
      }
      const expected = await expectedSignature(
        req,
        { accessKeyId: keyId, region: region!, signedHeaders: signedHeaders!.split(";") },
        secretAccessKey,
      );
      if (expected !== signature) {
        server.refused++;
        req.resume();
        return s3Error(
          res,
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );
      }
      server.accepted.push(`${req.method} ${req.url}`);
      const upstream = http.request(
        {
          host: "127.0.0.1",
          port: backendAddress.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      // A client cut off midway must not leave s3rver waiting for the rest of the body.
      req.on("close", () => {
        if (!req.complete) upstream.destroy();
      });
      req.pipe(upstream);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  server.port = (front.address() as net.AddressInfo).port;
  server.endpoint = `http://127.0.0.1:${server.port}`;
  return server;
}
