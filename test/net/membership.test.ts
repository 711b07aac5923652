/**
 * The transport follows membership changes: a replica's peers are the union of the configurations
 * it knows (the current epoch's and a scheduled next one), links to new members come up, links to
 * and from removed members close and stay closed, and a member rotating its key is let in under
 * either key only while both configurations are known.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/core/config.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { PeerDirectory } from '../../src/net/members.ts';
import { ReplicaTransport } from '../../src/net/replica-transport.ts';
import { bytes, collect, fastLimits, freePorts, makeCluster, Resources, silent, sleep, waitFor, type TestCluster } from './helpers.ts';

const res = new Resources();
afterEach(() => res.closeAll());

/** The cluster's configuration with addresses, and the same with replica `add` joined / `drop` removed. */
function configs(c: TestCluster, extra: { id: number; publicKey: Uint8Array; address: string }) {
  const withAddresses: ClusterConfig = { ...c.config, replicas: c.config.replicas.map((r, i) => ({ ...r, address: c.urls[i]! })) };
  const next: ClusterConfig = { ...withAddresses, epoch: 1, n: 5, replicas: [...withAddresses.replicas, extra] };
  const shrunk: ClusterConfig = { ...withAddresses, epoch: 2, n: 4, replicas: next.replicas.filter((r) => r.id !== 3) };
  return { genesis: withAddresses, next, shrunk };
}

function transport(config: ClusterConfig | ClusterConfig[], id: number, seed: Uint8Array, listenUrl?: string): ReplicaTransport {
  return res.add(new ReplicaTransport({ config, id, signer: new Signer(seed), verifier: new SignatureVerifier(), logger: silent, limits: fastLimits, ...(listenUrl ? { listenUrl } : {}) }));
}

describe('the transport follows the membership', () => {
  it('a joining member is dialled once its configuration is known; a removed one is cut off', async () => {
    const c = await makeCluster(4, 0);
    const [port] = await freePorts(1);
    const key4 = generateKeyPair();
    const { genesis, next, shrunk } = configs(c, { id: 4, publicKey: key4.publicKey, address: `ws://127.0.0.1:${port}` });
    const ts = [0, 1, 2, 3].map((i) => transport(genesis, i, c.replicaKeys[i]!.seed));
    // The joiner knows only genesis (it verifies the rest itself) and listens at its own URL.
    const joiner = transport(genesis, 4, key4.seed, `ws://127.0.0.1:${port}`);
    const got = [...ts, joiner].map((t) => collect(t));
    await Promise.all([...ts, joiner].map((t) => t.start()));
    await waitFor(() => ts.every((t) => t.connectedPeers().length === 3) && joiner.connectedPeers().length === 0, 3000, 'genesis mesh');
    // Genesis members refuse the stranger: its handshakes fail with 'unknown id'.
    await waitFor(() => (ts[0]!.counters.get('handshake: unknown id') ?? 0) > 0, 3000, 'refusal of the stranger');

    // The change executes: members know epochs 0 and 1; the joiner verified epoch 1.
    for (const t of ts) t.setMembers([genesis, next]);
    joiner.setMembers([next]);
    await waitFor(() => ts.every((t) => t.connectedPeers().includes(4)) && joiner.connectedPeers().length === 4, 3000, 'links to the joiner');
    ts[0]!.send('all', bytes(7));
    joiner.send(0, bytes(8));
    await waitFor(() => got[4]!.replica.some((r) => r.from === 0 && r.frame[0] === 7) && got[0]!.replica.some((r) => r.from === 4), 3000, 'frames both ways');

    // Replica 3 is removed: the others drop their links to it and refuse it from now on.
    for (const t of [ts[0]!, ts[1]!, ts[2]!, joiner]) t.setMembers([shrunk]);
    expect(ts[0]!.knownPeers()).toEqual([1, 2, 4]);
    await waitFor(() => ts[3]!.connectedPeers().length === 0, 3000, 'removed member cut off');
    const before = got[0]!.replica.filter((r) => r.from === 3).length;
    ts[3]!.send('all', bytes(9));
    await sleep(100);
    expect(got[0]!.replica.filter((r) => r.from === 3).length).toBe(before);
    expect(ts[0]!.counters.get('handshake: unknown id') ?? 0).toBeGreaterThan(0);
  });

  it('a rotating member is let in under either key while both configurations are known, then only under the new one', () => {
    const old = generateKeyPair();
    const fresh = generateKeyPair();
    const base: ClusterConfig = { clusterId: 'rot', n: 1, f: 0, replicas: [{ id: 2, publicKey: old.publicKey, address: 'ws://h:1' }], clients: [{ id: 7, publicKey: generateKeyPair().publicKey }] };
    const rotated: ClusterConfig = { ...base, epoch: 1, replicas: [{ id: 2, publicKey: fresh.publicKey, address: 'ws://h:2' }], clients: [], admins: [{ id: 1000, publicKey: generateKeyPair().publicKey }] };
    const dir = new PeerDirectory([base, rotated]);
    expect(dir.keysOfReplica(2)).toEqual([old.publicKey, fresh.publicKey]);
    expect(dir.addressOf(2)).toBe('ws://h:2');
    expect(dir.hasClient(7)).toBe(true);
    expect(dir.hasClient(1000)).toBe(true);
    dir.update([rotated]);
    expect(dir.keysOfReplica(2)).toEqual([fresh.publicKey]);
    expect(dir.hasClient(7)).toBe(false);
    expect(() => dir.update([{ ...rotated, clusterId: 'other' }])).toThrow(/cluster other/);
  });
});
