/**
 * Realistic, deterministic PersistOps for the storage tests and the crash child: real Ed25519
 * signatures and SHA-256 digests (the storage does not verify them, but the sizes and byte
 * patterns are the real ones), client timestamps around 1.7e15.
 */
import { applyPersistOp, emptyDurableState, type DurableState } from '../../src/core/durable.ts';
import type { PersistOp } from '../../src/core/io.ts';
import type { Batch, CheckpointCert, ClientRequest, DecisionCert, NewViewMsg, SignerSig, VoteCert } from '../../src/core/messages.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { Signer } from '../../src/crypto/signer.ts';

export const IDENTITY = { clusterId: 'storage-test-cluster', replicaId: 2 };

const utf8 = new TextEncoder();
const signers = [0, 1, 2, 3].map((i) => new Signer(sha256(utf8.encode(`storage-test/replica-${i}`))));
const client = new Signer(sha256(utf8.encode('storage-test/client')));
const BASE_TS = 1_700_000_000_000_000;

export function digestOf(label: string): Uint8Array {
  return sha256(utf8.encode(label));
}

function sigs(label: string, count: number): SignerSig[] {
  return signers.slice(0, count).map((s, from) => ({ from, sig: s.sign(utf8.encode(label)) }));
}

export function request(clientId: number, n: number): ClientRequest {
  const op = utf8.encode(JSON.stringify({ put: `key-${n}`, value: `value-${n}` }));
  const ts = BASE_TS + n;
  return { clientId, ts, op, sig: client.sign(sha256(op, utf8.encode(String(ts)))) };
}

export function batchFor(slot: number): Batch {
  return [request(7, slot * 3), request(8, slot * 3 + 1), request(9, slot * 3 + 2)];
}

export function voteCert(view: number, slot: number): VoteCert {
  return { view, slot, digest: digestOf(`batch-${slot}`), sigs: sigs(`prepare-${view}-${slot}`, 3) };
}

export function decisionCert(view: number, slot: number, kind: 'fast' | 'commit'): DecisionCert {
  return { kind, view, slot, digest: digestOf(`batch-${slot}`), sigs: sigs(`${kind}-${view}-${slot}`, kind === 'fast' ? 4 : 3) };
}

export function checkpointCert(seq: number): CheckpointCert {
  return { epoch: 0, seq, stateDigest: digestOf(`state-${seq}`), sigs: sigs(`checkpoint-${seq}`, 3) };
}

export function snapshotFor(seq: number): Uint8Array {
  // A few KB, like a small KV store's snapshot.
  const out = new Uint8Array(4096);
  for (let i = 0; i < out.length; i += 32) out.set(digestOf(`snap-${seq}-${i}`), i);
  return out;
}

export function newViewFor(view: number, low: number): NewViewMsg {
  const viewChanges = [0, 1, 3].map((from) => ({
    type: 'view-change' as const,
    newView: view,
    from,
    checkpoint: checkpointCert(low),
    slots: [
      { slot: low + 1, lastVote: { view: view - 1, digest: digestOf(`batch-${low + 1}`), leaderSig: signers[0]!.sign(utf8.encode('lv')) } },
      { slot: low + 2, prepared: voteCert(view - 1, low + 2) },
      { slot: low + 3, decided: decisionCert(view - 1, low + 3, 'commit') },
    ],
    batches: [batchFor(low + 1), batchFor(low + 2)],
    sig: signers[from]!.sign(utf8.encode(`vc-${view}-${from}`)),
  }));
  const proposals = [1, 2, 3].map((d) => ({
    type: 'propose' as const,
    view,
    slot: low + d,
    batch: d === 3 ? [] : batchFor(low + d),
    sig: signers[view % 4]!.sign(utf8.encode(`p-${view}-${low + d}`)),
  }));
  return { type: 'new-view', view, viewChanges, proposals, sig: signers[view % 4]!.sign(utf8.encode(`nv-${view}`)) };
}

/**
 * The k-th batch (k ≥ 1) of the crash test's workload: what a replica persists for one step of
 * normal operation (~5 ops), a checkpoint every 10 batches and a NEW-VIEW every 13. Its `view` op
 * carries k, so a loaded state says how many batches it holds.
 */
export function workloadBatch(k: number): PersistOp[] {
  const ops: PersistOp[] = [
    { kind: 'view', view: k, normal: k % 7 !== 0 },
    { kind: 'proposal', slot: k, view: k, batch: batchFor(k), sig: signers[k % 4]!.sign(utf8.encode(`accept-${k}`)) },
    { kind: 'prepared', cert: voteCert(k, k) },
    { kind: 'commit-sent', slot: k, view: k, digest: digestOf(`batch-${k}`) },
    { kind: 'decided', cert: decisionCert(k, k - 1, k % 2 ? 'fast' : 'commit'), batch: k % 5 === 0 ? undefined : batchFor(k - 1) },
  ];
  if (k % 10 === 0) ops.push({ kind: 'checkpoint', cert: checkpointCert(k - 3), snapshot: snapshotFor(k - 3) });
  if (k % 13 === 0) ops.push({ kind: 'new-view', message: newViewFor(k, Math.max(0, k - 10)) });
  return ops;
}

/** The reference state after workload batches 1..k, via the in-memory semantics. */
export function workloadState(k: number): DurableState {
  const state = emptyDurableState();
  for (let i = 1; i <= k; i++) for (const op of workloadBatch(i)) applyPersistOp(state, op);
  return state;
}
