/**
 * Mutual authentication of a connection, the same for replica↔replica and client→replica links.
 *
 *   server  → dialler  CHALLENGE [tag, clusterId, "challenge", serverId, nonceS, ephS]
 *   dialler → server   HELLO     [tag, clusterId, "hello", role, id, serverId, nonceS, nonceD, ephD, sigD]
 *   server  → dialler  WELCOME   [tag, clusterId, "welcome", sigS]
 *
 * with (statements built like src/core/statements.ts, domain-separated by the "hello" kind)
 *   sigD over [tag, clusterId, "hello", "dialler", role, id, serverId, nonceS, nonceD, ephS, ephD]
 *   sigS over [tag, clusterId, "hello", "server",  role, id, serverId, nonceS, nonceD, ephS, ephD]
 *
 * ephS and ephD are fresh X25519 keys: once both signatures check, each side derives the
 * connection's two ChaCha20-Poly1305 keys from their shared secret (secure-channel.ts), and every
 * frame after the WELCOME is sealed. Both signatures name both ephemeral keys, so a machine in
 * the middle that swaps one fails the handshake instead of reading the connection.
 *
 * Why this shape:
 *  - The server's fresh nonce makes sigD valid for this connection only: a recorded HELLO replayed
 *    on another connection answers the wrong challenge. The dialler's nonce does the same for the
 *    WELCOME, so nobody can replay a replica's old WELCOME to impersonate it.
 *  - The direction field stops a signature from being reflected: a replica signs as dialler and as
 *    server with one key, and the two statements must never be interchangeable.
 *  - The server speaks first but signs last: an anonymous connection costs it one verification at
 *    most, never a signature.
 *  - The dialler names the server id it expects and checks the WELCOME with that replica's key, so
 *    a wrong URL in the configuration (reaching another replica) fails the handshake.
 *  - HELLO repeats the statement's fields in the clear so a rejection can name its reason (wrong
 *    cluster, stale nonce, unknown id); the signature then covers all of them.
 * All messages are canonical CBOR arrays (src/crypto/canonical-cbor.ts) of bounded size.
 */
import { randomBytes } from 'node:crypto';
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { LruCache } from '../crypto/lru.ts';
import type { Signer } from '../crypto/signer.ts';
import type { SignatureVerifier } from '../crypto/verifier.ts';
import { sha256 } from '../crypto/hash.ts';
import { PeerDirectory, type NetMembers } from './members.ts';
import { deriveChannelKeys, EphemeralKey, EPHEMERAL_KEY_BYTES, type ChannelKeys } from './secure-channel.ts';

/**
 * Domain tag of every handshake message: distinct from the protocol's statement tag
 * (src/core/statements.ts), so no handshake signature can ever be read as a protocol statement.
 */
const HANDSHAKE_TAG = 'byzpax/v1/handshake';

export const NONCE_BYTES = 32;
/** Largest handshake message either side accepts; real ones are a few hundred bytes. */
export const MAX_HANDSHAKE_BYTES = 2048;

export type Role = 'replica' | 'client';

export interface PeerIdentity {
  role: Role;
  id: number;
}

export type HandshakeFailure =
  | 'malformed'
  | 'wrong cluster id'
  | 'wrong replica'
  | 'unknown id'
  | 'self connection'
  | 'stale nonce'
  | 'replayed nonce'
  | 'bad signature'
  | 'bad ephemeral key';

export type HandshakeResult<T> = { ok: true; value: T } | { ok: false; reason: HandshakeFailure };

type Direction = 'dialler' | 'server';

/** The exact bytes each side signs. */
/** What both sides sign, and what the channel keys are derived over: one handshake's every choice. */
export interface HandshakeTranscript {
  peer: PeerIdentity;
  serverId: number;
  nonceS: Uint8Array;
  nonceD: Uint8Array;
  ephS: Uint8Array;
  ephD: Uint8Array;
}

export function helloStatement(clusterId: string, direction: Direction, t: HandshakeTranscript): Uint8Array {
  return encodeCbor([HANDSHAKE_TAG, clusterId, 'hello', direction, t.peer.role, t.peer.id, t.serverId, t.nonceS, t.nonceD, t.ephS, t.ephD]);
}

/** The connection's keys: the ephemeral secret, bound to this very handshake. */
function channelKeys(clusterId: string, t: HandshakeTranscript, secret: Uint8Array): ChannelKeys {
  return deriveChannelKeys(secret, sha256(encodeCbor([HANDSHAKE_TAG, clusterId, 'channel', t.peer.role, t.peer.id, t.serverId, t.nonceS, t.nonceD, t.ephS, t.ephD])));
}

export function encodeChallenge(clusterId: string, serverId: number, nonceS: Uint8Array, ephS: Uint8Array): Uint8Array {
  return encodeCbor([HANDSHAKE_TAG, clusterId, 'challenge', serverId, nonceS, ephS]);
}

export function encodeHello(clusterId: string, peer: PeerIdentity, serverId: number, nonceS: Uint8Array, nonceD: Uint8Array, ephD: Uint8Array, sig: Uint8Array): Uint8Array {
  return encodeCbor([HANDSHAKE_TAG, clusterId, 'hello', peer.role, peer.id, serverId, nonceS, nonceD, ephD, sig]);
}

export function encodeWelcome(clusterId: string, sig: Uint8Array): Uint8Array {
  return encodeCbor([HANDSHAKE_TAG, clusterId, 'welcome', sig]);
}

const fail = (reason: HandshakeFailure): { ok: false; reason: HandshakeFailure } => ({ ok: false, reason });

/** Decodes a handshake message of `kind` with `arity` elements; checks tag and cluster id. */
function decode(bytes: Uint8Array, kind: string, arity: number, clusterId: string): HandshakeResult<unknown[]> {
  if (bytes.byteLength > MAX_HANDSHAKE_BYTES) return fail('malformed');
  let v: unknown;
  try {
    v = decodeCbor(bytes);
  } catch {
    return fail('malformed');
  }
  if (!Array.isArray(v) || v.length !== arity || v[0] !== HANDSHAKE_TAG || typeof v[1] !== 'string' || v[2] !== kind) return fail('malformed');
  if (v[1] !== clusterId) return fail('wrong cluster id');
  return { ok: true, value: v };
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isBytes = (v: unknown, len: number): v is Uint8Array => v instanceof Uint8Array && v.byteLength === len;

/** The server side: issues challenges and checks HELLOs. One per listening replica. */
export class HandshakeServer {
  private readonly peers: PeerDirectory;
  /** Dialler nonces of recent successful handshakes: a reused nonce is refused (bounded memory). */
  private readonly seenNonces: LruCache<string, true>;

  constructor(
    members: NetMembers | PeerDirectory,
    readonly serverId: number,
    private readonly signer: Pick<Signer, 'sign'>,
    private readonly verifier: Pick<SignatureVerifier, 'verify'>,
    replayCacheEntries = 4096,
  ) {
    this.peers = PeerDirectory.of(members);
    this.seenNonces = new LruCache(replayCacheEntries);
  }

  /** A fresh challenge: its nonce and ephemeral key are this connection's alone. */
  newChallenge(): Challenge {
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const ephemeral = EphemeralKey.generate();
    return { nonce, ephemeral, message: encodeChallenge(this.peers.clusterId, this.serverId, nonce, ephemeral.publicKey) };
  }

  /** Checks a HELLO answering `challenge`; on success returns the WELCOME to send and the channel's keys. */
  acceptHello(challenge: Challenge, bytes: Uint8Array): HandshakeResult<{ peer: PeerIdentity; welcome: Uint8Array; keys: ChannelKeys }> {
    const { clusterId } = this.peers;
    const d = decode(bytes, 'hello', 10, clusterId);
    if (!d.ok) return d;
    const [, , , role, id, serverId, echoed, nonceD, ephD, sig] = d.value;
    if ((role !== 'replica' && role !== 'client') || !isId(id) || !isId(serverId) || !isBytes(echoed, NONCE_BYTES) || !isBytes(nonceD, NONCE_BYTES) || !isBytes(ephD, EPHEMERAL_KEY_BYTES) || !(sig instanceof Uint8Array)) {
      return fail('malformed');
    }
    if (serverId !== this.serverId) return fail('wrong replica');
    if (!bytesEqual(echoed, challenge.nonce)) return fail('stale nonce');
    const peer: PeerIdentity = { role, id };
    const keys = role === 'replica' ? this.peers.keysOfReplica(id) : this.peers.keysOfClient(id);
    if (keys.length === 0) return fail('unknown id');
    if (role === 'replica' && id === this.serverId) return fail('self connection');
    const t: HandshakeTranscript = { peer, serverId, nonceS: challenge.nonce, nonceD, ephS: challenge.ephemeral.publicKey, ephD };
    const statement = helloStatement(clusterId, 'dialler', t);
    if (!keys.some((key) => this.verifier.verify(key, statement, sig))) return fail('bad signature');
    const nonceKey = toHex(nonceD);
    if (this.seenNonces.has(nonceKey)) return fail('replayed nonce');
    const secret = challenge.ephemeral.agree(ephD);
    if (!secret) return fail('bad ephemeral key');
    this.seenNonces.set(nonceKey, true);
    const welcome = encodeWelcome(clusterId, this.signer.sign(helloStatement(clusterId, 'server', t)));
    return { ok: true, value: { peer, welcome, keys: channelKeys(clusterId, t, secret) } };
  }
}

/** What the server keeps of its challenge until the HELLO comes. */
export interface Challenge {
  nonce: Uint8Array;
  ephemeral: EphemeralKey;
  message: Uint8Array;
}

/** What the dialler remembers between its HELLO and the server's WELCOME. */
export interface DiallerState {
  transcript: HandshakeTranscript;
  /** The channel's secret, trusted only once the WELCOME proves the server. */
  secret: Uint8Array;
}

/** The dialling side (a replica dialling a peer, or a client). */
export class HandshakeDialler {
  private readonly peers: PeerDirectory;

  constructor(
    members: NetMembers | PeerDirectory,
    readonly self: PeerIdentity,
    private readonly signer: Pick<Signer, 'sign'>,
    private readonly verifier: Pick<SignatureVerifier, 'verify'>,
  ) {
    this.peers = PeerDirectory.of(members);
  }

  /** Answers a CHALLENGE from the replica we meant to reach (`serverId`). */
  answerChallenge(serverId: number, bytes: Uint8Array): HandshakeResult<{ hello: Uint8Array; state: DiallerState }> {
    const { clusterId } = this.peers;
    const d = decode(bytes, 'challenge', 6, clusterId);
    if (!d.ok) return d;
    const [, , , claimed, nonceS, ephS] = d.value;
    if (!isId(claimed) || !isBytes(nonceS, NONCE_BYTES) || !isBytes(ephS, EPHEMERAL_KEY_BYTES)) return fail('malformed');
    // Fail early on a wrong URL; the WELCOME signature is what actually proves the server's identity.
    if (claimed !== serverId) return fail('wrong replica');
    const ephemeral = EphemeralKey.generate();
    const secret = ephemeral.agree(ephS);
    if (!secret) return fail('bad ephemeral key');
    const nonceD = new Uint8Array(randomBytes(NONCE_BYTES));
    const transcript: HandshakeTranscript = { peer: this.self, serverId, nonceS, nonceD, ephS, ephD: ephemeral.publicKey };
    const sig = this.signer.sign(helloStatement(clusterId, 'dialler', transcript));
    return { ok: true, value: { hello: encodeHello(clusterId, this.self, serverId, nonceS, nonceD, ephemeral.publicKey, sig), state: { transcript, secret } } };
  }

  /** Checks the WELCOME — signed by the server's key over this very handshake — and returns the channel's keys. */
  checkWelcome(state: DiallerState, bytes: Uint8Array): HandshakeResult<ChannelKeys> {
    const { clusterId } = this.peers;
    const d = decode(bytes, 'welcome', 4, clusterId);
    if (!d.ok) return d;
    const sig = d.value[3];
    if (!(sig instanceof Uint8Array)) return fail('malformed');
    const t = state.transcript;
    const keys = this.peers.keysOfReplica(t.serverId);
    if (keys.length === 0) return fail('unknown id');
    const statement = helloStatement(clusterId, 'server', t);
    if (!keys.some((key) => this.verifier.verify(key, statement, sig))) return fail('bad signature');
    return { ok: true, value: channelKeys(clusterId, t, state.secret) };
  }
}
