/**
 * Connections that must not be admitted, over real sockets: each is closed, counted under its
 * reason, and nothing it sent is delivered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../src/crypto/canonical-cbor.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { ClientTransport } from '../../src/net/client-transport.ts';
import { encodeHello, helloStatement, HandshakeDialler, MAX_HANDSHAKE_BYTES } from '../../src/net/handshake.ts';
import { EphemeralKey } from '../../src/net/secure-channel.ts';
import type { ReplicaTransport } from '../../src/net/replica-transport.ts';
import {
  bytes, collect, fastLimits, FakeReplicaServer, makeCluster, portOf, RawPeer, replica, Resources, sleep, waitFor, type TestCluster,
} from './helpers.ts';

const res = new Resources();
afterEach(() => res.closeAll());

async function server(limits = {}): Promise<{ c: TestCluster; r0: ReplicaTransport; got: ReturnType<typeof collect> }> {
  const c = await makeCluster(4, 1);
  const r0 = replica(c, 0, res, limits);
  const got = collect(r0);
  await r0.start();
  return { c, r0, got };
}

const nothingDelivered = (got: ReturnType<typeof collect>) => got.replica.length + got.client.length === 0;

/** The challenge's nonce, from a raw CHALLENGE message. */
const challengeNonce = (m: Uint8Array) => (decodeCbor(m) as unknown[])[4] as Uint8Array;
const challengeEph = (m: Uint8Array) => (decodeCbor(m) as unknown[])[5] as Uint8Array;
/** A dialler's ephemeral key and its HELLO fields, made by hand. */
const eph = () => EphemeralKey.generate().publicKey;

describe('handshake rejections (server side)', () => {
  it('an unknown client id', async () => {
    const { c, r0, got } = await server();
    const k = generateKeyPair();
    const cl = res.add(new ClientTransport({ config: c.config, urls: c.urls, id: 999, signer: new Signer(k.seed), verifier: new SignatureVerifier(), limits: fastLimits }));
    cl.send('all', bytes(1));
    await waitFor(() => r0.counters.has('handshake: unknown id') && cl.counters.has('handshake: closed by server'), 3000, 'rejection');
    expect(cl.connected()).toEqual([]);
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await expect(raw.handshake(c, { role: 'replica', id: 7 }, k.seed, 0)).rejects.toThrow(/closed \(1008 unknown id\)/);
    expect(nothingDelivered(got)).toBe(true);
    expect(r0.connectedClients()).toEqual([]);
  });

  it('a listed id with a key that is not listed (bad signature)', async () => {
    const { c, r0, got } = await server();
    const cl = res.add(new ClientTransport({ config: c.config, urls: c.urls, id: 100, signer: new Signer(generateKeyPair().seed), verifier: new SignatureVerifier(), limits: fastLimits }));
    await waitFor(() => r0.counters.has('handshake: bad signature'), 3000, 'rejection');
    expect(cl.connected()).toEqual([]);
    // A replica impersonated with another replica's key fails the same way.
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await expect(raw.handshake(c, { role: 'replica', id: 1 }, c.replicaKeys[2]!.seed, 0)).rejects.toThrow(/bad signature/);
    expect(nothingDelivered(got)).toBe(true);
  });

  it('a wrong cluster id, refused by both sides', async () => {
    const { c, r0, got } = await server();
    // A client configured for another cluster refuses the challenge itself.
    const other = { ...c.config, clusterId: 'another-cluster' };
    const cl = res.add(new ClientTransport({ config: other, urls: c.urls, id: 100, signer: new Signer(c.clientKeys[0]!.seed), verifier: new SignatureVerifier(), limits: fastLimits }));
    await waitFor(() => cl.counters.has('handshake: wrong cluster id'), 3000, 'rejection');
    expect(cl.connected()).toEqual([]);
    // A HELLO validly signed for another cluster is refused by the server.
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    const challenge = await raw.next();
    const nonceS = challengeNonce(challenge);
    const nonceD = new Uint8Array(32).fill(1);
    const ephD = eph();
    const peer = { role: 'client' as const, id: 100 };
    const sig = new Signer(c.clientKeys[0]!.seed).sign(helloStatement('another-cluster', 'dialler', { peer, serverId: 0, nonceS, nonceD, ephS: challengeEph(challenge), ephD }));
    raw.ws.send(encodeHello('another-cluster', peer, 0, nonceS, nonceD, ephD, sig));
    expect(await raw.waitClosed()).toEqual({ code: 1008, reason: 'wrong cluster id' });
    expect(r0.counters.get('handshake: wrong cluster id')).toBe(1);
    expect(nothingDelivered(got)).toBe(true);
  });

  it('garbage, a text frame, or a protocol frame before the handshake', async () => {
    const { c, r0, got } = await server();
    const garbage = res.add(await RawPeer.connect(c.urls[0]!));
    garbage.ws.send(new Uint8Array([0xff, 0x00, 0x13, 0x37, 0xde, 0xad]));
    const text = res.add(await RawPeer.connect(c.urls[0]!));
    text.ws.send('hello');
    const early = res.add(await RawPeer.connect(c.urls[0]!));
    early.ws.send(encodeCbor(['request', 100, 1, new Uint8Array(8), new Uint8Array(64)]));
    for (const p of [garbage, text, early]) expect((await p.waitClosed()).code).toBe(1008);
    expect(r0.counters.get('handshake: malformed')).toBe(3);
    expect(nothingDelivered(got)).toBe(true);
  });

  it('an oversize handshake message is cut off by the handshake payload bound', async () => {
    const { c, r0, got } = await server();
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await raw.next();
    raw.ws.send(new Uint8Array(MAX_HANDSHAKE_BYTES + 1));
    expect((await raw.waitClosed()).code).toBe(1009);
    expect(r0.counters.get('handshake: oversize')).toBe(1);
    expect(nothingDelivered(got)).toBe(true);
  });

  it('a HELLO answering an older challenge (stale nonce), and a reused dialler nonce (replay)', async () => {
    const { c, r0, got } = await server();
    const peer = { role: 'client' as const, id: 100 };
    const signer = new Signer(c.clientKeys[0]!.seed);
    const first = res.add(await RawPeer.connect(c.urls[0]!));
    const ch1 = await first.next();
    const nonce1 = challengeNonce(ch1);
    const nonceD = new Uint8Array(32).fill(7);
    const ephD = eph();
    const hello1 = encodeHello(c.config.clusterId, peer, 0, nonce1, nonceD, ephD, signer.sign(helloStatement(c.config.clusterId, 'dialler', { peer, serverId: 0, nonceS: nonce1, nonceD, ephS: challengeEph(ch1), ephD })));
    first.ws.send(hello1);
    await first.next(); // WELCOME: admitted
    // The same HELLO replayed on a new connection answers the wrong challenge.
    const second = res.add(await RawPeer.connect(c.urls[0]!));
    await second.next();
    second.ws.send(hello1);
    expect(await second.waitClosed()).toEqual({ code: 1008, reason: 'stale nonce' });
    // A fresh, correctly signed HELLO that reuses the dialler nonce is refused too.
    const third = res.add(await RawPeer.connect(c.urls[0]!));
    const ch3 = await third.next();
    const nonce3 = challengeNonce(ch3);
    third.ws.send(encodeHello(c.config.clusterId, peer, 0, nonce3, nonceD, ephD, signer.sign(helloStatement(c.config.clusterId, 'dialler', { peer, serverId: 0, nonceS: nonce3, nonceD, ephS: challengeEph(ch3), ephD }))));
    expect(await third.waitClosed()).toEqual({ code: 1008, reason: 'replayed nonce' });
    expect(r0.counters.get('handshake: stale nonce')).toBe(1);
    expect(r0.counters.get('handshake: replayed nonce')).toBe(1);
    expect(nothingDelivered(got)).toBe(true);
  });

  it('a connection that never completes the handshake times out', async () => {
    const { c, r0 } = await server({ handshakeTimeoutMs: 150 });
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await raw.next();
    await raw.waitClosed(2000);
    expect(r0.counters.get('handshake: timeout')).toBe(1);
  });

  it('pending handshakes beyond the limit are refused at the upgrade', async () => {
    const { c, r0 } = await server({ maxPendingHandshakes: 2 });
    const a = res.add(await RawPeer.connect(c.urls[0]!));
    res.add(await RawPeer.connect(c.urls[0]!));
    await expect(RawPeer.connect(c.urls[0]!)).rejects.toThrow(/503/);
    expect(r0.counters.get('handshake: too many pending')).toBe(1);
    // A slot frees once a pending connection goes away, and a legitimate client gets in.
    a.close();
    await sleep(50);
    const ok = res.add(await RawPeer.connect(c.urls[0]!));
    await ok.handshake(c, { role: 'client', id: 100 }, c.clientKeys[0]!.seed, 0);
    await waitFor(() => r0.connectedClients().includes(100), 1000, 'client admitted');
  });

  it('a text frame after authentication is dropped, not delivered', async () => {
    const { c, r0, got } = await server();
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await raw.handshake(c, { role: 'client', id: 100 }, c.clientKeys[0]!.seed, 0);
    raw.ws.send('text');
    raw.sendSealed(bytes(3));
    await waitFor(() => got.client.length === 1, 1000, 'binary frame');
    expect(got.client[0]).toEqual({ from: 100, frame: bytes(3) });
    expect(r0.counters.get('drop: text frame')).toBe(1);
  });
});

describe('the encrypted channel over real sockets', () => {
  it('a replayed frame, a frame sealed with another connection\'s key, and an unsealed frame each close the connection; nothing of them is delivered', async () => {
    const { c, r0, got } = await server();
    // Replayed: the same sealed bytes twice.
    const a = res.add(await RawPeer.connect(c.urls[0]!));
    await a.handshake(c, { role: 'client', id: 100 }, c.clientKeys[0]!.seed, 0);
    const sealed = a.cipher!.seal(bytes(1));
    a.ws.send(sealed);
    a.ws.send(sealed);
    expect(await a.waitClosed()).toEqual({ code: 1008, reason: 'bad frame authentication' });
    expect(got.client).toEqual([{ from: 100, frame: bytes(1) }]);
    // Spliced: a frame sealed on one live connection sent on another (other parties, other keys).
    const b = res.add(await RawPeer.connect(c.urls[0]!));
    await b.handshake(c, { role: 'replica', id: 1 }, c.replicaKeys[1]!.seed, 0);
    const d = res.add(await RawPeer.connect(c.urls[0]!));
    await d.handshake(c, { role: 'replica', id: 2 }, c.replicaKeys[2]!.seed, 0);
    b.ws.send(d.cipher!.seal(bytes(2)));
    expect(await b.waitClosed()).toEqual({ code: 1008, reason: 'bad frame authentication' });
    // Unsealed: a plain frame after the handshake (what a peer without the keys could inject).
    d.ws.send(bytes(3));
    expect(await d.waitClosed()).toEqual({ code: 1008, reason: 'bad frame authentication' });
    expect(got.replica).toEqual([]);
    expect(r0.counters.get('close: bad frame authentication')).toBe(3);
  });
});

describe('handshake rejections (dialler side)', () => {
  it('a URL that reaches another replica is refused (wrong replica), and an impostor fails the WELCOME signature', async () => {
    const c = await makeCluster(4, 1);
    // Replica 2 answers at replica 1's URL; an impostor claiming to be replica 3 answers at 3's.
    const wrong = res.add(await FakeReplicaServer.start(c, portOf(c.urls[1]!), 2, c.replicaKeys[2]!.seed));
    const impostor = res.add(await FakeReplicaServer.start(c, portOf(c.urls[3]!), 3, generateKeyPair().seed));
    const r0 = replica(c, 0, res);
    await r0.start();
    await waitFor(() => (r0.counters.get('handshake: wrong replica') ?? 0) >= 1 && (r0.counters.get('handshake: bad signature') ?? 0) >= 1, 2000, 'rejections');
    expect(r0.connectedPeers()).toEqual([]);
    r0.send('all', bytes(1));
    await sleep(30);
    expect(wrong.frames).toHaveLength(0);
    expect(impostor.frames).toHaveLength(0);
  });

  it('the pure handshake rejects a CHALLENGE with malformed content', () => {
    const c = { clusterId: 'x', n: 4, f: 1, replicas: [], clients: [] };
    const d = new HandshakeDialler(c, { role: 'client', id: 1 }, new Signer(generateKeyPair().seed), new SignatureVerifier());
    expect(d.answerChallenge(0, bytes(1, 2, 3))).toEqual({ ok: false, reason: 'malformed' });
  });
});
