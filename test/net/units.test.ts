/** The transport's pure parts: handshake messages, token buckets, fault injection, log rate limiting. */
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../src/crypto/canonical-cbor.ts';
import type { ClusterConfig } from '../../src/core/config.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { encodeChallenge, encodeHello, encodeWelcome, HandshakeDialler, HandshakeServer, helloStatement, MAX_HANDSHAKE_BYTES } from '../../src/net/handshake.ts';
import { ChannelCipher, EphemeralKey, TAG_BYTES } from '../../src/net/secure-channel.ts';
import { toHex as hexOf } from '../../src/crypto/bytes.ts';
import { InboundLimiter } from '../../src/net/inbound-limiter.ts';
import { defaultTransportLimits, resolveLimits } from '../../src/net/limits.ts';
import { FaultyLink } from '../../src/net/link-faults.ts';
import { NetLog, netEventKind } from '../../src/net/net-log.ts';
import { TokenBucket } from '../../src/net/token-bucket.ts';
import { listenAddress } from '../../src/net/ws-util.ts';
import { sleep } from './helpers.ts';

function setup() {
  const r = [0, 1, 2, 3].map(() => generateKeyPair());
  const cl = generateKeyPair();
  const config: ClusterConfig = { clusterId: 'unit', n: 4, f: 1, replicas: r.map((k, id) => ({ id, publicKey: k.publicKey })), clients: [{ id: 5, publicKey: cl.publicKey }] };
  const v = new SignatureVerifier();
  const server = new HandshakeServer(config, 0, new Signer(r[0]!.seed), v);
  const replica2 = new HandshakeDialler(config, { role: 'replica', id: 2 }, new Signer(r[2]!.seed), v);
  const client = new HandshakeDialler(config, { role: 'client', id: 5 }, new Signer(cl.seed), v);
  return { config, r, cl, v, server, replica2, client };
}

describe('handshake', () => {
  it('a replica and a client complete it, and learn who is on the other side', () => {
    const { server, replica2, client } = setup();
    for (const [d, peer] of [[replica2, { role: 'replica', id: 2 }], [client, { role: 'client', id: 5 }]] as const) {
      const ch = server.newChallenge();
      const a = d.answerChallenge(0, ch.message);
      if (!a.ok) throw new Error(a.reason);
      const h = server.acceptHello(ch, a.value.hello);
      if (!h.ok) throw new Error(h.reason);
      expect(h.value.peer).toEqual(peer);
      const w = d.checkWelcome(a.value.state, h.value.welcome);
      if (!w.ok) throw new Error(w.reason);
      // Both ends derived the same two keys, one per direction.
      expect(w.value).toEqual(h.value.keys);
      expect(hexOf(w.value.diallerToServer)).not.toBe(hexOf(w.value.serverToDialler));
    }
  });

  it('names each rejection', () => {
    const { r, cl, server, replica2 } = setup();
    const ch = server.newChallenge();
    const nonceD = new Uint8Array(32).fill(3);
    const ephD = EphemeralKey.generate().publicKey;
    const hello = (o: { cluster?: string; role?: 'replica' | 'client'; id?: number; to?: number; nonceS?: Uint8Array; seed?: Uint8Array; signedCluster?: string; ephD?: Uint8Array; signedEphS?: Uint8Array }) => {
      const peer = { role: o.role ?? 'client', id: o.id ?? 5 };
      const nonceS = o.nonceS ?? ch.nonce;
      const t = { peer, serverId: o.to ?? 0, nonceS, nonceD, ephS: o.signedEphS ?? ch.ephemeral.publicKey, ephD: o.ephD ?? ephD };
      const sig = new Signer(o.seed ?? cl.seed).sign(helloStatement(o.signedCluster ?? o.cluster ?? 'unit', 'dialler', t));
      return encodeHello(o.cluster ?? 'unit', peer, o.to ?? 0, nonceS, nonceD, o.ephD ?? ephD, sig);
    };
    const reason = (m: Uint8Array) => {
      const x = server.acceptHello(ch, m);
      return x.ok ? 'ok' : x.reason;
    };
    expect(reason(new Uint8Array([0xff, 1, 2]))).toBe('malformed');
    expect(reason(encodeCbor(['byzpax/v1/handshake', 'unit', 'hello']))).toBe('malformed');
    expect(reason(new Uint8Array(MAX_HANDSHAKE_BYTES + 1))).toBe('malformed');
    expect(reason(hello({ cluster: 'other' }))).toBe('wrong cluster id');
    expect(reason(hello({ to: 1 }))).toBe('wrong replica');
    expect(reason(hello({ nonceS: new Uint8Array(32) }))).toBe('stale nonce');
    expect(reason(hello({ id: 6 }))).toBe('unknown id');
    expect(reason(hello({ role: 'replica', id: 4 }))).toBe('unknown id');
    expect(reason(hello({ role: 'replica', id: 0, seed: r[0]!.seed }))).toBe('self connection');
    expect(reason(hello({ seed: generateKeyPair().seed }))).toBe('bad signature');
    expect(reason(hello({ signedCluster: 'other' }))).toBe('bad signature');
    // A client's signature does not pass as a replica's with the same id, and vice versa.
    expect(reason(hello({ role: 'replica', id: 1, seed: cl.seed }))).toBe('bad signature');
    // A machine in the middle that swapped the server's ephemeral key: the dialler signed another.
    expect(reason(hello({ signedEphS: EphemeralKey.generate().publicKey }))).toBe('bad signature');
    // An ephemeral key that is no X25519 point of use (all zeros: a low-order point).
    expect(reason(hello({ ephD: new Uint8Array(32) }))).toBe('bad ephemeral key');
    expect(reason(hello({ ephD: new Uint8Array(31) }))).toBe('malformed');
    expect(reason(hello({}))).toBe('ok');
    expect(reason(hello({}))).toBe('replayed nonce');

    // Dialler side.
    const ephS = ch.ephemeral.publicKey;
    expect(replica2.answerChallenge(0, encodeChallenge('other', 0, ch.nonce, ephS))).toEqual({ ok: false, reason: 'wrong cluster id' });
    expect(replica2.answerChallenge(1, encodeChallenge('unit', 0, ch.nonce, ephS))).toEqual({ ok: false, reason: 'wrong replica' });
    expect(replica2.answerChallenge(0, encodeChallenge('unit', 0, new Uint8Array(5), ephS))).toEqual({ ok: false, reason: 'malformed' });
    expect(replica2.answerChallenge(0, encodeChallenge('unit', 0, ch.nonce, new Uint8Array(32)))).toEqual({ ok: false, reason: 'bad ephemeral key' });
    const a = replica2.answerChallenge(0, ch.message);
    if (!a.ok) throw new Error(a.reason);
    const st = a.value.state;
    const signWelcome = (seed: Uint8Array, direction: 'server' | 'dialler', nonceD2 = st.transcript.nonceD) =>
      encodeWelcome('unit', new Signer(seed).sign(helloStatement('unit', direction, { ...st.transcript, nonceD: nonceD2 })));
    expect(replica2.checkWelcome(st, signWelcome(r[1]!.seed, 'server'))).toEqual({ ok: false, reason: 'bad signature' });
    // Reflection: replica 0's signature as a dialler is not a WELCOME.
    expect(replica2.checkWelcome(st, signWelcome(r[0]!.seed, 'dialler'))).toEqual({ ok: false, reason: 'bad signature' });
    // A WELCOME from an earlier handshake (other dialler nonce) is not accepted.
    expect(replica2.checkWelcome(st, signWelcome(r[0]!.seed, 'server', new Uint8Array(32)))).toEqual({ ok: false, reason: 'bad signature' });
    expect(replica2.checkWelcome(st, signWelcome(r[0]!.seed, 'server')).ok).toBe(true);
  });

  it('handshake messages stay far below the handshake bound', () => {
    const { server, client } = setup();
    const ch = server.newChallenge();
    const a = client.answerChallenge(0, ch.message);
    if (!a.ok) throw new Error(a.reason);
    expect(a.value.hello.byteLength).toBeLessThan(MAX_HANDSHAKE_BYTES / 4);
  });
});

describe('the encrypted channel', () => {
  /** Both ends of one connection, and of another between the same parties. */
  function pairs() {
    const { server, client } = setup();
    const connect = () => {
      const ch = server.newChallenge();
      const a = client.answerChallenge(0, ch.message);
      if (!a.ok) throw new Error(a.reason);
      const h = server.acceptHello(ch, a.value.hello);
      if (!h.ok) throw new Error(h.reason);
      const w = client.checkWelcome(a.value.state, h.value.welcome);
      if (!w.ok) throw new Error(w.reason);
      return { dialler: ChannelCipher.forDialler(w.value), server: ChannelCipher.forServer(h.value.keys) };
    };
    return { one: connect(), other: connect() };
  }
  const frame = (...xs: number[]) => new Uint8Array(xs);

  it('frames open in order at the other end, both ways, and are not the plaintext on the wire', () => {
    const { one } = pairs();
    const sealed = one.dialler.seal(frame(1, 2, 3));
    expect(sealed.byteLength).toBe(3 + TAG_BYTES);
    expect(Array.from(sealed.subarray(0, 3))).not.toEqual([1, 2, 3]);
    expect(one.server.open(sealed)).toEqual(frame(1, 2, 3));
    expect(one.server.open(one.dialler.seal(frame(4)))).toEqual(frame(4));
    expect(one.dialler.open(one.server.seal(frame(9, 9)))).toEqual(frame(9, 9));
    expect(one.server.open(one.dialler.seal(new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('a replayed, reordered, altered, truncated or reflected frame fails to open', () => {
    const { one } = pairs();
    const a = one.dialler.seal(frame(1));
    const b = one.dialler.seal(frame(2));
    expect(one.server.open(b)).toBeUndefined(); // reordered: b before a
    expect(one.server.open(a)).toEqual(frame(1));
    expect(one.server.open(a)).toBeUndefined(); // replayed
    const c = one.dialler.seal(frame(3)); // (b was skipped by the receiver: the stream is broken)
    expect(one.server.open(c)).toBeUndefined();
    const { one: fresh } = pairs();
    const d = fresh.dialler.seal(frame(5, 6));
    const flipped = new Uint8Array(d);
    flipped[0]! ^= 1;
    expect(fresh.server.open(flipped)).toBeUndefined();
    expect(fresh.server.open(d.subarray(0, d.byteLength - 1))).toBeUndefined();
    expect(fresh.server.open(new Uint8Array(5))).toBeUndefined();
    // Reflection: what the server sealed does not open as the dialler's own direction.
    expect(fresh.server.open(fresh.server.seal(frame(7)))).toBeUndefined();
    expect(fresh.server.open(d)).toEqual(frame(5, 6));
  });

  it('a frame spliced in from another connection (same parties, other keys) fails to open', () => {
    const { one, other } = pairs();
    const spliced = other.dialler.seal(frame(1));
    expect(one.server.open(spliced)).toBeUndefined();
    expect(other.server.open(spliced)).toEqual(frame(1));
  });
});

describe('token bucket and inbound limiter', () => {
  it('allows the burst, then the rate', () => {
    const b = new TokenBucket(10, 5, 0);
    expect([1, 2, 3, 4, 5, 6].map(() => b.take(1, 0))).toEqual([true, true, true, true, true, false]);
    expect(b.take(1, 50)).toBe(false); // half a token
    expect(b.take(1, 100)).toBe(true);
    expect(b.available(10_000)).toBe(5); // never more than the burst
    expect(b.take(6, 10_000)).toBe(false);
    expect(new TokenBucket(Infinity, 1, 0).take(1e9, 0)).toBe(true);
  });

  it('drops excess and asks to disconnect a persistent flooder', () => {
    const l = new InboundLimiter(100, 10, 1e9, 1e9, 50, 0);
    const verdicts = Array.from({ length: 70 }, () => l.admit(1, 0));
    expect(verdicts.filter((v) => v === 'deliver')).toHaveLength(10);
    expect(verdicts.indexOf('disconnect')).toBe(10 + 49);
    // Drops in a new one-second window start counting afresh.
    const l2 = new InboundLimiter(1, 1, 1e9, 1e9, 3, 0);
    expect([l2.admit(1, 0), l2.admit(1, 0), l2.admit(1, 0), l2.admit(1, 1500), l2.admit(1, 1500), l2.admit(1, 1500)]).toEqual(['deliver', 'drop', 'drop', 'deliver', 'drop', 'drop']);
    // The byte bucket alone can refuse a frame.
    expect(new InboundLimiter(1e9, 1e9, 100, 100, 10, 0).admit(101, 0)).toBe('drop');
  });

  it('limits resolve over the defaults and reject nonsense', () => {
    expect(resolveLimits({})).toEqual(defaultTransportLimits);
    expect(resolveLimits({ maxReplicaFrameBytes: 64 * 1024 * 1024 }).replicaBytesBurst).toBe(64 * 1024 * 1024);
    expect(() => resolveLimits({ pingIntervalMs: 0 })).toThrow(/positive/);
    expect(() => resolveLimits({ reconnectMinMs: 500, reconnectMaxMs: 100 })).toThrow(/reconnectMaxMs/);
    expect(() => resolveLimits({ nonsense: 1 } as object)).toThrow(/unknown/);
  });
});

describe('FaultyLink', () => {
  it('blocked and loss drop; no faults transmit synchronously', () => {
    const out: number[] = [];
    const l = new FaultyLink((f) => out.push(f[0]!), {}, () => 0.3);
    expect(l.send(new Uint8Array([1]))).toBe('sent');
    l.set({ blocked: true });
    expect(l.send(new Uint8Array([2]))).toBe('blocked');
    l.set({ loss: 0.5 });
    expect(l.send(new Uint8Array([3]))).toBe('lost'); // random 0.3 < 0.5
    l.set({ loss: 0.2 });
    expect(l.send(new Uint8Array([4]))).toBe('sent');
    expect(out).toEqual([1, 4]);
    expect(() => l.set({ loss: 2 })).toThrow();
    expect(() => l.set({ delayMs: -1 })).toThrow();
  });

  it('delays keep FIFO order without jitter, even when the delay drops at run time', async () => {
    const out: number[] = [];
    const l = new FaultyLink((f) => out.push(f[0]!), { delayMs: 40 });
    l.send(new Uint8Array([1]));
    l.set({ delayMs: 5 });
    l.send(new Uint8Array([2]));
    l.set({});
    expect(l.send(new Uint8Array([3]))).toBe('delayed'); // queued behind the held frames
    expect(l.delayedBytes).toBe(3);
    await sleep(20);
    expect(out).toEqual([]);
    await sleep(40);
    expect(out).toEqual([1, 2, 3]);
    expect(l.delayedBytes).toBe(0);
    expect(l.send(new Uint8Array([4]))).toBe('sent');
  });

  it('jitter may reorder; clear drops held frames', async () => {
    let i = 0;
    const rnd = [0.9, 0.0, 0.5];
    const out: number[] = [];
    const l = new FaultyLink((f) => out.push(f[0]!), { jitterMs: 30 }, () => rnd[i++ % 3]!);
    for (const k of [1, 2, 3]) l.send(new Uint8Array([k]));
    await sleep(60);
    expect(out).toEqual([2, 3, 1]);
    l.set({ delayMs: 1000 });
    l.send(new Uint8Array([9]));
    l.clear();
    expect(l.delayedBytes).toBe(0);
  });
});

describe('NetLog', () => {
  it('counts every event but logs a reason at most once per interval, reporting what it skipped', async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const fake = { warn: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
    const log = new NetLog(fake, 50);
    for (let k = 0; k < 1000; k++) log.event('drop: rate limited', { id: 1 });
    log.event('drop: not connected');
    expect(log.get('drop: rate limited')).toBe(1000);
    expect(lines.map((l) => l.msg)).toEqual(['net: drop: rate limited', 'net: drop: not connected']);
    await sleep(60);
    log.event('drop: rate limited');
    expect(lines[2]!.obj).toMatchObject({ reason: 'drop: rate limited', total: 1001, skipped: 999 });
    const quiet = new NetLog(undefined); // no logger: counting only
    quiet.event('dial: failed');
    expect(quiet.get('dial: failed')).toBe(1);
  });

  it('sorts every reason by kind: what a peer did to us apart from what happened to our own frames', () => {
    const log = new NetLog(undefined);
    for (const r of ['handshake: bad signature', 'handshake: timeout', 'close: flood', 'close: oversize frame', 'drop: rate limited', 'drop: text frame'] as const) log.event(r);
    for (const r of ['drop: not connected', 'drop: send buffer full', 'drop: loss (fault injection)'] as const) log.event(r);
    for (const r of ['handshake: closed by server', 'close: dead peer (no pong)', 'dial: failed'] as const) log.event(r);
    log.event('frame handler threw');
    expect(log.byKind).toEqual({ refused: 6, undelivered: 3, connection: 3, internal: 1 });
    expect(netEventKind('handshake: replayed nonce')).toBe('refused');
    expect(netEventKind('handshake: closed early')).toBe('connection');
  });
});

describe('listenAddress', () => {
  it('takes host and port from the URL', () => {
    expect(listenAddress('ws://127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(listenAddress('ws://[::1]:7001/byzpax')).toEqual({ host: '::1', port: 7001 });
    expect(listenAddress('wss://example.org')).toEqual({ host: 'example.org', port: 443 });
    expect(() => listenAddress('http://x:1')).toThrow();
  });
});
