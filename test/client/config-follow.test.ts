/**
 * How a client follows membership changes: the proofs a replica answers a CONFIG-QUERY with, and
 * the client's check of them (the same EpochChain replicas use, started from whatever
 * configuration the client's cluster file holds). A lying replica can only send proofs that fail,
 * each with its reason; a correct chain is accepted from genesis and from a later base.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../../src/core/auth.ts';
import type { ClusterConfig } from '../../src/core/config.ts';
import { EpochChain } from '../../src/core/epochs.ts';
import type { EpochLink } from '../../src/core/messages.ts';
import { HonestNode } from '../../src/core/restart.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import type { PlannedChange } from '../../src/sim/sim-admin.ts';
import { defaultSimOptions, Simulation, simReplicaKey } from '../../src/sim/simulation.ts';

let genesis: ClusterConfig;
let links: readonly EpochLink[];
let proofTo: (since: number) => EpochLink[];

beforeAll(() => {
  // Three changes in the simulator, with real keys: add 4, remove 0, rotate 1's key.
  const plan: PlannedChange[] = [
    () => ({ kind: 'add', member: { id: 4, publicKey: simReplicaKey(4).publicKey, address: 'ws://h:4' } }),
    () => ({ kind: 'remove', id: 0 }),
    () => ({ kind: 'rotate-key', id: 1, publicKey: simReplicaKey(1, 1).publicKey }),
  ];
  const sim = new Simulation({ ...defaultSimOptions, seed: 3, reconfig: plan, crash: false, networkFaults: false });
  const r = sim.run();
  expect(r.violations).toEqual([]);
  const node = sim.nodeOf(2);
  if (!(node instanceof HonestNode)) throw new Error('replica 2 is not running');
  expect(node.replica.epoch).toBe(3);
  genesis = sim.membershipView.authOf(0)!.config;
  links = node.replica.epochLinks;
  proofTo = (since) => node.replica.configProof(since).links;
}, 120_000);

/** A client's chain starting from `base` (genesis, or a later configuration it was given). */
function clientChain(base: ClusterConfig): EpochChain {
  const auth = new Auth(base, new Signer(generateKeyPair().seed), new SignatureVerifier());
  return new EpochChain({ config: base, activatedAt: 0 }, auth);
}

const clone = (l: EpochLink): EpochLink => ({ membership: new Uint8Array(l.membership), restHash: new Uint8Array(l.restHash), cert: { ...l.cert, sigs: l.cert.sigs.map((s) => ({ ...s })) } });

describe('a client following membership changes', () => {
  it('a replica answers CONFIG-QUERY with the proofs after the asker\'s epoch', () => {
    expect(proofTo(0)).toHaveLength(3);
    expect(proofTo(2)).toEqual([links[2]]);
    expect(proofTo(3)).toEqual([]);
    expect(proofTo(99)).toEqual([]);
  });

  it('from genesis, each proof checks with the epoch before it; the latest members are known', () => {
    const chain = clientChain(genesis);
    for (const l of proofTo(0)) expect(typeof chain.extend(l, genesis.clusterId)).toBe('object');
    const latest = chain.latest.config;
    expect(latest.epoch).toBe(3);
    expect(latest.replicas.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(latest.replicas[0]!.publicKey).toEqual(simReplicaKey(1, 1).publicKey);
    expect(latest.replicas.find((r) => r.id === 4)!.address).toBe('ws://h:4');
    // Replies of each epoch are checked with that epoch's keys.
    expect(chain.authOf(3)!.isReplica(0)).toBe(false);
    expect(chain.authOf(0)!.isReplica(0)).toBe(true);
  });

  it('from a later configuration (a fetched file): earlier proofs are known, later ones check', () => {
    const base = clientChain(genesis);
    base.extend(links[0]!, genesis.clusterId);
    const chain = clientChain(base.latest.config);
    expect(chain.extend(links[0]!, genesis.clusterId)).toBe('known');
    expect(typeof chain.extend(links[1]!, genesis.clusterId)).toBe('object');
    expect(typeof chain.extend(links[2]!, genesis.clusterId)).toBe('object');
    expect(chain.latest.config.epoch).toBe(3);
    expect(chain.authOf(0)).toBeUndefined();
  });

  it('forged proofs are refused, each with its reason, and change nothing', () => {
    const chain = clientChain(genesis);
    const id = genesis.clusterId;
    // Skipping an epoch.
    expect(chain.extend(links[1]!, id)).toBe('configuration proof for epoch 2, but the next one here is 1');
    // Too few signatures (q = 3 of epoch 0).
    const few = clone(links[0]!);
    few.cert.sigs = few.cert.sigs.slice(0, 2);
    expect(chain.extend(few, id)).toBe('configuration proof: checkpoint certificate has 2 signatures, needs 3');
    // A signature moved to a replica that is not a member of the certifying epoch.
    const stranger = clone(links[0]!);
    stranger.cert.sigs[0]!.from = 4;
    expect(chain.extend(stranger, id)).toMatch(/not a member of epoch 0/);
    // A signature that is not the signer's.
    const bad = clone(links[0]!);
    bad.cert.sigs[0]!.sig = new Uint8Array(64).fill(7);
    expect(chain.extend(bad, id)).toMatch(/bad signature from replica/);
    // Membership bytes that are not the certified state's (another configuration under a real certificate).
    const swapped = clone(links[0]!);
    swapped.restHash = new Uint8Array(32).fill(1);
    expect(chain.extend(swapped, id)).toBe('configuration proof: membership does not match the certified state');
    // Garbage instead of a configuration.
    const garbage = clone(links[0]!);
    garbage.membership = new Uint8Array([1, 2, 3]);
    expect(chain.extend(garbage, id)).toMatch(/^configuration proof: /);
    expect(chain.latest.config.epoch ?? 0).toBe(0);
    // The genuine proof still checks after all that.
    expect(typeof chain.extend(links[0]!, id)).toBe('object');
  });
});
