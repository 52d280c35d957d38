import { createHash } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import {
  constants,
  createMessage,
  decode,
  type StunResponse,
  validateMessageIntegrity,
} from "@msimerson/stun";

/** Where a TURN server listens, as a browser reaches it. */
export interface TurnEndpoint {
  host: string;
  port: number;
  transport: "udp" | "tcp" | "tls";
  /** TLS: the name the certificate must carry (the service's host when connecting to an address). */
  servername?: string;
  /** TLS: PEM trust anchors replacing the system store (tests). */
  ca?: string;
}

export type AllocateOutcome =
  | { kind: "allocated"; relayed: string }
  | { kind: "refused"; code: number; reason: string }
  | { kind: "error"; message: string };

/** The UDP protocol number in REQUESTED-TRANSPORT: browsers relay media over UDP. */
const REQUESTED_UDP = 17 << 24;
const STUN_HEADER_BYTES = 20;
/** UDP gets no delivery guarantee: a request goes again at this interval until answered (RFC 8489's 500 ms). */
const UDP_RETRANSMIT_MS = 500;

/** One STUN message at a time over one connection, framed as RFC 8489 frames it on a stream. */
interface Channel {
  request(message: Buffer, timeoutMs: number): Promise<StunResponse>;
  close(): void;
}

function streamChannel(socket: net.Socket): Channel {
  let buffered = Buffer.alloc(0);
  const waiting: Array<(message: Buffer) => void> = [];
  let failure: Error | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= STUN_HEADER_BYTES) {
      const size = STUN_HEADER_BYTES + buffered.readUInt16BE(2);
      if (buffered.length < size) break;
      const message = buffered.subarray(0, size);
      buffered = buffered.subarray(size);
      waiting.shift()?.(message);
    }
  });
  socket.on("error", (error) => (failure = error));
  return {
    request(message, timeoutMs) {
      if (failure) return Promise.reject(failure);
      return withTimeout(
        new Promise<Buffer>((resolve, reject) => {
          waiting.push(resolve);
          socket.once("error", reject);
          socket.once("close", () => reject(new Error("the server closed the connection")));
          socket.write(message);
        }).then(decode),
        timeoutMs,
      );
    },
    close: () => socket.destroy(),
  };
}

function udpChannel(socket: dgram.Socket): Channel {
  return {
    request(message, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      return withTimeout(
        new Promise<Buffer>((resolve) => {
          const id = message.subarray(8, STUN_HEADER_BYTES);
          const onMessage = (answer: Buffer) => {
            if (answer.length < STUN_HEADER_BYTES || !answer.subarray(8, STUN_HEADER_BYTES).equals(id))
              return;
            socket.off("message", onMessage);
            resolve(answer);
          };
          socket.on("message", onMessage);
          const send = () => socket.send(message);
          send();
          timer = setInterval(send, UDP_RETRANSMIT_MS);
        }).then(decode),
        timeoutMs,
      ).finally(() => clearInterval(timer));
    },
    close: () => socket.close(),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    }),
  ]);
}

async function connect(endpoint: TurnEndpoint, timeoutMs: number): Promise<Channel> {
  if (endpoint.transport === "udp") {
    const socket = dgram.createSocket(net.isIPv6(endpoint.host) ? "udp6" : "udp4");
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.connect(endpoint.port, endpoint.host, () => resolve());
      }),
      timeoutMs,
    ).catch((error: Error) => {
      socket.close();
      throw error;
    });
    return udpChannel(socket);
  }
  const socket =
    endpoint.transport === "tls"
      ? tls.connect({
          host: endpoint.host,
          port: endpoint.port,
          servername: endpoint.servername ?? (net.isIP(endpoint.host) ? undefined : endpoint.host),
          ca: endpoint.ca,
          rejectUnauthorized: true,
        })
      : net.connect({ host: endpoint.host, port: endpoint.port });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once(endpoint.transport === "tls" ? "secureConnect" : "connect", () => resolve());
    }),
    timeoutMs,
  ).catch((error: Error) => {
    socket.destroy();
    throw error;
  });
  return streamChannel(socket);
}

/** The long-term credential key of RFC 8489: MD5(username ":" realm ":" password). */
function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash("md5").update(`${username}:${realm}:${password}`).digest();
}

function allocateRequest(auth?: { username: string; realm: string; nonce: string; key: Buffer }): Buffer {
  const message = createMessage(constants.STUN_ALLOCATE_REQUEST!);
  message.addAttribute(constants.STUN_ATTR_REQUESTED_TRANSPORT!, REQUESTED_UDP);
  if (auth) {
    message.addAttribute(constants.STUN_ATTR_USERNAME!, auth.username);
    message.addAttribute(constants.STUN_ATTR_REALM!, auth.realm);
    message.addAttribute(constants.STUN_ATTR_NONCE!, auth.nonce);
    message.addMessageIntegrity(auth.key);
  }
  message.addFingerprint();
  return message.toBuffer();
}

function relayedAddress(answer: StunResponse): string | undefined {
  const value = answer.getAttribute(constants.STUN_ATTR_XOR_RELAYED_ADDRESS!)?.value as
    { address: string; port: number } | undefined;
  if (!value) return undefined;
  return net.isIPv6(value.address) ? `[${value.address}]:${value.port}` : `${value.address}:${value.port}`;
}

/**
 * Allocates a UDP relay as a browser does (RFC 8656 with long-term credentials, RFC 8489): an Allocate
 * without credentials must be answered 401 with a realm and nonce; the second, signed with the
 * credentials, gets the relayed address. The allocation is released right after.
 */
export async function turnAllocate(
  endpoint: TurnEndpoint,
  credentials: { username: string; password: string },
  timeoutMs: number,
): Promise<AllocateOutcome> {
  let channel: Channel;
  try {
    channel = await connect(endpoint, timeoutMs);
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  try {
    const challenge = await channel.request(allocateRequest(), timeoutMs);
    const error = challenge.getError();
    if (!error)
      return { kind: "error", message: "the server allocated a relay without asking for credentials" };
    const realm = challenge.getRealm();
    let nonce = challenge.getNonce();
    if (error.code !== 401 || !realm || !nonce) return { kind: "refused", ...error };
    const key = longTermKey(credentials.username, realm, credentials.password);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const answer = await channel.request(
        allocateRequest({ username: credentials.username, realm, nonce, key }),
        timeoutMs,
      );
      const refusal = answer.getError();
      // 438 Stale Nonce: once more with the new nonce.
      if (refusal?.code === 438 && answer.getNonce()) {
        nonce = answer.getNonce()!;
        continue;
      }
      if (refusal) return { kind: "refused", ...refusal };
      if (!validateMessageIntegrity(answer, key)) {
        return { kind: "error", message: "the server's answer is not signed with the credentials' key" };
      }
      const relayed = relayedAddress(answer);
      if (!relayed) return { kind: "error", message: "the server's answer has no relayed address" };
      await release(channel, { username: credentials.username, realm, nonce, key }, timeoutMs);
      return { kind: "allocated", relayed };
    }
    return { kind: "error", message: "the server kept answering 438 Stale Nonce" };
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  } finally {
    channel.close();
  }
}

/** A Refresh with lifetime 0 ends the allocation at once instead of after its lifetime. */
async function release(
  channel: Channel,
  auth: { username: string; realm: string; nonce: string; key: Buffer },
  timeoutMs: number,
): Promise<void> {
  const message = createMessage(constants.STUN_REFRESH_REQUEST!);
  message.addAttribute(constants.STUN_ATTR_LIFETIME!, 0);
  message.addAttribute(constants.STUN_ATTR_USERNAME!, auth.username);
  message.addAttribute(constants.STUN_ATTR_REALM!, auth.realm);
  message.addAttribute(constants.STUN_ATTR_NONCE!, auth.nonce);
  message.addMessageIntegrity(auth.key);
  message.addFingerprint();
  await channel.request(message.toBuffer(), timeoutMs).catch(() => undefined);
}
