/**
 * The lmdb ReplicaStorage: same semantics as applyPersistOp, identity stamping, durability
 * across a real SIGKILL, and behaviour after close.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPersistOp, emptyDurableState, type DurableState } from '../../src/core/durable.ts';
import type { PersistOp } from '../../src/core/io.ts';
import type { Batch, CheckpointCert, DecisionCert, NewViewMsg, VoteCert } from '../../src/core/messages.ts';
import { openLmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { encodeRecord } from '../../src/storage/record-codec.ts';
import { StorageError, type ReplicaStorage } from '../../src/storage/replica-storage.ts';
import {
  IDENTITY,
  batchFor,
  checkpointCert,
  decisionCert,
  digestOf,
  newViewFor,
  snapshotFor,
  voteCert,
  workloadBatch,
  workloadState,
} from './ops.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'byzpax-storage-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function reference(batches: PersistOp[][]): DurableState {
  const state = emptyDurableState();
  for (const batch of batches) for (const op of batch) applyPersistOp(state, op);
  return state;
}

async function reopened(dir: string): Promise<DurableState | undefined> {
  const storage = await openLmdbStorage(dir, IDENTITY);
  try {
    return storage.load();
  } finally {
    await storage.close();
  }
}

/** Every byte string in `value` is a plain Uint8Array (not a Buffer, not a view of something shared). */
function collectBytes(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) out.push(value);
  else if (value instanceof Map) for (const v of value.values()) collectBytes(v, out);
  else if (Array.isArray(value)) for (const v of value) collectBytes(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectBytes(v, out);
  return out;
}

describe('lmdb replica storage: round trip', () => {
  it('a new store loads as undefined, also after reopening', async () => {
    const dir = tempDir();
    const storage = await openLmdbStorage(dir, IDENTITY);
    expect(storage.load()).toBeUndefined();
    await storage.close();
    expect(await reopened(dir)).toBeUndefined();
  });

  it('every PersistOp kind survives close and reopen exactly (nested, dotted dir created on demand)', async () => {
    const dir = join(tempDir(), 'data', 'replica.2');
    const batches: PersistOp[][] = [
      [
        { kind: 'checkpoint', cert: checkpointCert(4), snapshot: snapshotFor(4) },
        { kind: 'view', view: 3, normal: false },
        { kind: 'new-view', message: newViewFor(3, 4) },
      ],
      [
        { kind: 'proposal', slot: 5, view: 3, batch: batchFor(5), sig: digestOf('x').subarray(0, 32) },
        { kind: 'prepared', cert: voteCert(3, 5) },
        { kind: 'commit-sent', slot: 5, view: 3, digest: digestOf('batch-5') },
        { kind: 'decided', cert: decisionCert(3, 5, 'commit'), batch: batchFor(5) },
        { kind: 'decided', cert: decisionCert(3, 6, 'fast'), batch: undefined },
        { kind: 'proposal', slot: 7, view: 3, batch: [], sig: digestOf('empty') },
        { kind: 'view', view: 3, normal: true },
      ],
    ];
    const storage = await openLmdbStorage(dir, IDENTITY);
    for (const batch of batches) await storage.apply(batch);
    const expected = reference(batches);
    expect(storage.load()).toStrictEqual(expected);
    await storage.close();

    const loaded = await reopened(dir);
    expect(loaded).toStrictEqual(expected);
    // Client timestamps (~1.7e15, above 2^32) come back as the exact same numbers.
    expect(loaded!.slots.get(5)!.proposal!.batch[2]!.ts).toBe(1_700_000_000_000_017);
    // An undefined batch is kept as an own property, like the reference has it.
    expect(Object.hasOwn(loaded!.slots.get(6)!.decided!, 'batch')).toBe(true);
    expect(loaded!.slots.get(6)!.prepared).toBeUndefined();
    const bytes = collectBytes(loaded);
    expect(bytes.length).toBeGreaterThan(50);
    for (const b of bytes) expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
  });

  it('a checkpoint forgets the slots at or below it, and later ops for them are ignored', async () => {
    const dir = tempDir();
    const storage = await openLmdbStorage(dir, IDENTITY);
    const slotsOps = (from: number, to: number): PersistOp[] =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ kind: 'prepared', cert: voteCert(1, from + i) }) as PersistOp);
    const batches: PersistOp[][] = [
      slotsOps(1, 20),
      [{ kind: 'checkpoint', cert: checkpointCert(12), snapshot: snapshotFor(12) }, ...slotsOps(10, 14)],
      // An older checkpoint is ignored while a newer one is stored.
      [{ kind: 'checkpoint', cert: checkpointCert(8), snapshot: snapshotFor(8) }],
    ];
    for (const batch of batches) await storage.apply(batch);
    await storage.close();
    const loaded = await reopened(dir);
    expect([...loaded!.slots.keys()]).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    expect(loaded!.checkpoint!.cert.seq).toBe(12);
    expect(loaded).toStrictEqual(reference(batches));
  });
});

describe('lmdb replica storage: same semantics as applyPersistOp (property)', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const sig = bytes(64);
  const digest = bytes(32);
  const view = fc.oneof(fc.nat(6), fc.maxSafeNat());
  const slot = fc.integer({ min: 0, max: 12 });
  const rec = <T>(shape: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(shape, { noNullPrototype: true });
  const batch: fc.Arbitrary<Batch> = fc.array(
    rec({ clientId: fc.nat(1000), ts: fc.maxSafeNat(), op: fc.uint8Array({ maxLength: 24 }), sig }),
    { maxLength: 3 },
  );
  const sigs = fc.array(rec({ from: fc.nat(6), sig }), { maxLength: 3 });
  const vote: fc.Arbitrary<VoteCert> = rec({ view, slot, digest, sigs });
  const decision: fc.Arbitrary<DecisionCert> = rec({ kind: fc.constantFrom('fast' as const, 'commit' as const), view, slot, digest, sigs });
  const checkpoint: fc.Arbitrary<CheckpointCert> = rec({ epoch: fc.nat(3), seq: slot, stateDigest: digest, sigs });
  const evidence = fc.record(
    { slot, lastVote: rec({ view, digest, leaderSig: sig }), prepared: vote, decided: decision },
    { requiredKeys: ['slot'], noNullPrototype: true },
  );
  const newView: fc.Arbitrary<NewViewMsg> = rec({
    type: fc.constant('new-view' as const),
    view,
    viewChanges: fc.array(
      rec({
        type: fc.constant('view-change' as const),
        newView: view,
        from: fc.nat(6),
        checkpoint,
        slots: fc.array(evidence, { maxLength: 2 }),
        batches: fc.array(batch, { maxLength: 2 }),
        sig,
      }),
      { maxLength: 2 },
    ),
    proposals: fc.array(rec({ type: fc.constant('propose' as const), view, slot, batch, sig }), { maxLength: 2 }),
    sig,
  });
  const op: fc.Arbitrary<PersistOp> = fc.oneof(
    { arbitrary: rec({ kind: fc.constant('view' as const), view, normal: fc.boolean() }), weight: 1 },
    { arbitrary: rec({ kind: fc.constant('new-view' as const), message: newView }), weight: 1 },
    { arbitrary: rec({ kind: fc.constant('proposal' as const), slot, view, batch, sig }), weight: 3 },
    { arbitrary: rec({ kind: fc.constant('prepared' as const), cert: vote }), weight: 3 },
    { arbitrary: rec({ kind: fc.constant('commit-sent' as const), slot, view, digest }), weight: 3 },
    { arbitrary: rec({ kind: fc.constant('decided' as const), cert: decision, batch: fc.option(batch, { nil: undefined }) }), weight: 3 },
    { arbitrary: rec({ kind: fc.constant('checkpoint' as const), cert: checkpoint, snapshot: fc.uint8Array({ maxLength: 64 }) }), weight: 2 },
  );
  // Rounds of batches; the batches of one round are applied without awaiting in between, so lmdb
  // folds them into one commit and each must still see the ones before it.
  // A round may end with a synchronous applyNow after the async ones settled (the replica's promises).
  const rounds = fc.array(
    fc.record({ batches: fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 3 }), lastNow: fc.boolean() }),
    { minLength: 1, maxLength: 5 },
  );

  it('after every round and reopen, load() equals the reference state', async () => {
    await fc.assert(
      fc.asyncProperty(rounds, async (rs) => {
        const dir = mkdtempSync(join(tmpdir(), 'byzpax-storage-prop-'));
        try {
          const expected = emptyDurableState();
          for (const { batches: round, lastNow } of rs) {
            const storage = await openLmdbStorage(dir, IDENTITY);
            const asyncOnes = lastNow ? round.slice(0, -1) : round;
            await Promise.all(asyncOnes.map((b) => storage.apply(b)));
            if (lastNow) storage.applyNow(round[round.length - 1]!);
            for (const b of round) for (const o of b) applyPersistOp(expected, o);
            await storage.close();
            expect((await reopened(dir)) ?? emptyDurableState()).toStrictEqual(expected);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('lmdb replica storage: identity', () => {
  it('refuses a data dir stamped with another cluster id or replica id, naming both, and leaves it intact', async () => {
    const dir = tempDir();
    const storage = await openLmdbStorage(dir, IDENTITY);
    await storage.apply(workloadBatch(1));
    await storage.close();

    const otherCluster = openLmdbStorage(dir, { ...IDENTITY, clusterId: 'other-cluster' });
    await expect(otherCluster).rejects.toThrow(StorageError);
    await expect(otherCluster).rejects.toThrow(/"storage-test-cluster".*"other-cluster"/);

    const otherReplica = openLmdbStorage(dir, { ...IDENTITY, replicaId: 3 });
    await expect(otherReplica).rejects.toThrow(StorageError);
    await expect(otherReplica).rejects.toThrow(/replica 2.*replica 3/);

    expect(await reopened(dir)).toStrictEqual(workloadState(1));
  });
});

describe('lmdb replica storage: foreign stores', () => {
  async function writeRaw(dir: string, key: string, value: unknown): Promise<void> {
    const env = open<Uint8Array, string>({ path: dir, encoding: 'binary', overlappingSync: false });
    const state = env.openDB<Uint8Array, string>({ name: 'state', encoding: 'binary' });
    await state.put(key, encodeRecord(value));
    await env.close();
  }

  it('refuses a store with records but no identity, and one written in another format version', async () => {
    const unstamped = tempDir();
    await writeRaw(unstamped, 'view', { view: 1, normal: true });
    await expect(openLmdbStorage(unstamped, IDENTITY)).rejects.toThrow(/no identity record/);

    const future = tempDir();
    await writeRaw(future, 'meta', { format: 99, ...IDENTITY });
    await expect(openLmdbStorage(future, IDENTITY)).rejects.toThrow(/format 99/);
  });
});

describe('lmdb replica storage: close', () => {
  it('close waits for pending applies; apply and load after close throw StorageError', async () => {
    const dir = tempDir();
    const storage = await openLmdbStorage(dir, IDENTITY);
    const pending = [1, 2, 3].map((k) => storage.apply(workloadBatch(k)));
    await storage.close();
    await Promise.all(pending);
    await expect(storage.apply(workloadBatch(4))).rejects.toThrow(StorageError);
    expect(() => storage.applyNow(workloadBatch(4))).toThrow(StorageError);
    expect(() => storage.load()).toThrow(StorageError);
    await storage.close(); // idempotent
    expect(await reopened(dir)).toStrictEqual(workloadState(3));
  });
});

describe('lmdb replica storage: crash', () => {
  const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

  /** Runs the child until it has reported `atLeast` more durable batches, then SIGKILLs it. */
  async function runAndKill(dir: string, atLeast: number): Promise<{ start: number; lastDurable: number }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let start: number | undefined;
    let lastDurable = -1;
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child made no progress in time; stderr: ${err}`)), 30_000);
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited early (${code}); stderr: ${err}`));
      });
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop()!; // a partial line waits for the rest
        for (const line of lines) {
          const [word, n] = line.split(' ');
          if (word === 'start') start = Number(n);
          if (word === 'durable') lastDurable = Number(n);
        }
        if (start !== undefined && lastDurable >= start + atLeast) {
          clearTimeout(timer);
          proc.kill('SIGKILL'); // while the next batch is already being applied
          resolve();
        }
      });
    });
    await exited;
    expect(proc.signalCode).toBe('SIGKILL');
    return { start: start!, lastDurable };
  }

  it('after SIGKILL mid-loop, every batch reported durable is there and the state is a prefix of the workload', async () => {
    const dir = tempDir();
    let previous = 0;
    for (const atLeast of [25, 41, 17]) {
      const { start, lastDurable } = await runAndKill(dir, atLeast);
      expect(start).toBeGreaterThanOrEqual(previous);
      const loaded = await reopened(dir);
      const k = loaded?.view ?? 0;
      // Everything reported is there; at most the one batch in flight got committed unreported.
      expect(k).toBeGreaterThanOrEqual(lastDurable);
      expect(k).toBeLessThanOrEqual(lastDurable + 1);
      expect(loaded).toStrictEqual(workloadState(k));
      previous = k;
    }
  });
});
