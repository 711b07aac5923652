/**
 * Checkpoints, log truncation and state transfer, with checkpointInterval K = 4 and window W = 8.
 */
import { describe, expect, it } from 'vitest';
import type { CheckpointCert, ClientRequest } from '../../src/core/messages.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { stateDigestOf } from '../../src/core/replicated-state.ts';
import { batchDigest, Harness, hex, kvResult } from './harness.ts';

const params = { checkpointInterval: 4, window: 8 };
const Q = 3;

function puts(h: Harness, count: number, from = 0): ClientRequest[] {
  return Array.from({ length: count }, (_, i) => h.put((from + i) % 3, `k${from + i}`, `v${from + i}`));
}

function checkpointOps(h: Harness, id: number): { cert: CheckpointCert; snapshot: Uint8Array }[] {
  return h.persisted(id).flatMap((p) => (p.kind === 'checkpoint' ? [{ cert: p.cert, snapshot: p.snapshot }] : []));
}

describe('a stable checkpoint', () => {
  it('after K decided slots every replica broadcasts one CHECKPOINT, all digests equal, and it becomes stable', () => {
    const h = new Harness({ params });
    h.order(...puts(h, 3));
    for (let id = 0; id < 4; id++) expect(h.sentBy(id, 'checkpoint')).toEqual([]);
    h.order(...puts(h, 1, 3));

    const digests = new Set<string>();
    for (let id = 0; id < 4; id++) {
      const cps = h.broadcastBy(id, 'checkpoint');
      expect(cps.map((c) => [c.seq, c.from])).toEqual([[4, id]]);
      digests.add(hex(cps[0]!.stateDigest));
      expect(h.auth.verifyReplica(id, h.auth.statements.checkpoint(4, cps[0]!.stateDigest), cps[0]!.sig)).toBe(true);
      // The digest is that of the replica's state after slot 4.
      expect(hex(cps[0]!.stateDigest)).toBe(hex(h.r(id).stateDigest()));

      expect(h.eventsOf(id, 'checkpoint-stable')).toEqual([{ type: 'checkpoint-stable', seq: 4 }]);
      const ops = checkpointOps(h, id);
      expect(ops).toHaveLength(1);
      expect(ops[0]!.cert.seq).toBe(4);
      expect(h.auth.checkCheckpointCert(ops[0]!.cert, Q, h.genesisDigest())).toBeNull();
      expect(hex(stateDigestOf(ops[0]!.snapshot)!)).toBe(hex(ops[0]!.cert.stateDigest));
      expect(h.r(id).lowWatermark).toBe(4);
      expect(h.r(id).highWatermark).toBe(12);
      // The disk folded slots 1–4 into the checkpoint.
      expect(h.disks[id]!.checkpoint?.cert.seq).toBe(4);
      expect([...h.disks[id]!.slots.keys()]).toEqual([]);
    }
    expect(digests.size).toBe(1);
  });

  it('truncation: a proposal for a slot ≤ 4 is then outside the watermarks; slot 12 is inside, 13 is not', () => {
    const h = new Harness({ params });
    h.order(...puts(h, 4));
    expect(h.r(1).lowWatermark).toBe(4);
    const batch = [h.put(0, 'late', 'x')];
    for (const slot of [1, 4, 13]) {
      const out = h.inject(1, h.propose(0, slot, batch));
      expect(out.events).toEqual([{ type: 'drop', reason: 'proposal outside the watermarks', from: 0 }]);
      expect(out.send).toEqual([]);
    }
    const out = h.inject(1, h.propose(0, 12, batch));
    expect(out.send.map((s) => s.message.type)).toEqual(['accept']);
    // Votes for truncated slots are refused too.
    expect(h.inject(1, h.commit(2, 0, 3, batchDigest(batch))).events).toEqual([{ type: 'drop', reason: 'COMMIT outside the watermarks', from: 2 }]);
  });

  it('the leader proposes up to the high watermark (slot 12) and waits; the next checkpoint lets it go on', () => {
    const h = new Harness({ params: { ...params, maxInflight: 32, maxBatch: 1 } });
    h.order(...puts(h, 4));
    expect(h.r(0).highWatermark).toBe(12);
    h.holdWhere((e) => e.message.type === 'accept');
    const reqs = puts(h, 9, 4);
    for (const r of reqs) h.submit(r, 0);
    const proposed = h.broadcastBy(0, 'propose').map((p) => p.slot);
    expect(proposed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

    h.clearRules();
    h.release();
    h.deliverAll();
    // Slots 5–12 decided, checkpoint 8 stable: the window moved to (8, 16] and the ninth request
    // went into slot 13 (and once 12 was stable too, the window is (12, 20]).
    expect(h.broadcastBy(0, 'propose').map((p) => p.slot).slice(12)).toEqual([13]);
    for (let id = 0; id < 4; id++) {
      expect(h.r(id).executed).toBe(13);
      expect(h.eventsOf(id, 'checkpoint-stable').map((e) => e.seq)).toEqual([4, 8, 12]);
      expect(h.r(id).lowWatermark).toBe(12);
    }
  });
});

describe('state transfer', () => {
  /** Replica 3 is cut off while 0–2 execute 10 slots (checkpoints 4 and 8 stable), then reconnected. */
  function lagging() {
    const h = new Harness({ params });
    const reconnect = h.isolate(3);
    h.order(...puts(h, 10));
    for (const id of [0, 1, 2]) {
      expect(h.r(id).executed).toBe(10);
      expect(h.r(id).lowWatermark).toBe(8);
    }
    expect(h.r(3).executed).toBe(0);
    reconnect();
    return h;
  }

  it('a reconnected replica asks with STATUS, gets STATE, verifies and installs it, then catches up by DECISIONs', () => {
    const h = lagging();
    const genesis = hex(h.r(3).stateDigest());
    // Nothing tells replica 3 it is behind: its slow heartbeat STATUS does (8 status intervals).
    h.run(8 * h.params.statusIntervalTicks!, [3]);

    const status = h.broadcastBy(3, 'status');
    expect(status.length).toBeGreaterThanOrEqual(1);
    expect(status[0]).toMatchObject({ executed: 0, stable: 0, from: 3 });
    // Each peer answered that STATUS (in the same step) with STATE at checkpoint 8, then DECISIONs for 9 and 10.
    for (const id of [0, 1, 2]) {
      const answer = h.history.find((r) => r.id === id && r.input.kind === 'message' && r.input.message.type === 'status' && r.input.message.from === 3);
      expect(answer?.out.send.map((s) => [s.to, s.message.type])).toEqual([
        [3, 'state'],
        [3, 'decision'],
        [3, 'decision'],
      ]);
    }
    for (const id of [0, 1, 2]) {
      const st = h.sentBy(id, 'state');
      expect(st.length).toBeGreaterThanOrEqual(1);
      expect(st[0]!.checkpoint.seq).toBe(8);
      expect(h.sentBy(id, 'decision').map((d) => d.cert.slot).slice(0, 2)).toEqual([9, 10]);
    }
    const transferred = h.eventsOf(3, 'state-transferred');
    expect(transferred).toHaveLength(1);
    expect(transferred[0]).toMatchObject({ type: 'state-transferred', seq: 8 });
    expect(checkpointOps(h, 3).map((c) => c.cert.seq)).toEqual([8]);
    expect(h.r(3).lowWatermark).toBe(8);

    expect(h.r(3).executed).toBe(10);
    expect(hex(h.r(3).stateDigest())).toBe(hex(h.r(0).stateDigest()));
    expect(hex(h.r(3).stateDigest())).not.toBe(genesis);
    // Only slots above the checkpoint were executed here; the snapshot carried the rest.
    expect(h.executed(3).map((e) => e.slot)).toEqual([9, 10]);
    // The session table came with the snapshot: a retransmission of client 1's last request
    // (executed in slot 8, inside the snapshot) is answered from it, not executed again.
    const slot8 = h.executed(0)[7]!;
    expect(slot8.slot).toBe(8);
    const replay = h.submit(slot8.batch[0]!, 3)[0]!;
    expect(replay.executed).toEqual([]);
    expect(replay.send).toEqual([]);
    expect(replay.replies.map((r) => [r.message.from, r.message.slot, kvResult(r.message.result)])).toEqual([[3, 8, { value: null }]]);
  });

  it('a peer that keeps saying it is behind gets one catch-up answer per status interval, and the next at once when it made progress', () => {
    const h = lagging();
    const answers = () => h.sentBy(0, 'state').length + h.sentBy(0, 'decision').length;
    const behind = h.status(3, 0, 0, 0);
    h.step(0, { kind: 'message', message: behind, from: 3 });
    const first = answers();
    expect(first).toBe(3); // STATE at 8, DECISIONs 9 and 10
    for (let i = 0; i < 5; i++) h.step(0, { kind: 'message', message: behind, from: 3 }); // a flood of the same claim
    expect(answers()).toBe(first);
    expect(h.r(0).counters.get('catch-up answer held back (asked again within a status interval)')).toBe(5);
    // Progress (it installed the snapshot, executed 8): answered at once, with what it still lacks.
    h.step(0, { kind: 'message', message: h.status(3, 0, 8, 8), from: 3 });
    expect(answers()).toBe(first + 2);
    // The same claim after a status interval: answered again (a correct replica's message may have been lost).
    h.tick(h.params.statusIntervalTicks!, [0]);
    h.takeHeld();
    h.step(0, { kind: 'message', message: h.status(3, 0, 8, 8), from: 3 });
    expect(answers()).toBe(first + 4);
  });

  function servedCheckpoint(h: Harness) {
    const ops = checkpointOps(h, 0);
    const at8 = ops.find((c) => c.cert.seq === 8)!;
    const at4 = ops.find((c) => c.cert.seq === 4)!;
    return { at8, at4 };
  }

  it('a STATE whose snapshot does not match the certificate digest is misbehaviour; state unchanged', () => {
    const h = lagging();
    const before = hex(h.r(3).stateDigest());
    const { at8, at4 } = servedCheckpoint(h);
    const out = h.inject(3, h.state(0, at8.cert, at4.snapshot)); // a genuine snapshot, of the wrong checkpoint
    expect(out.events).toEqual([{ type: 'misbehaviour', culprit: 0, what: 'served a snapshot that does not match checkpoint 8' }]);
    expect(out.persist).toEqual([]);
    expect(h.r(3).executed).toBe(0);
    expect(h.r(3).lowWatermark).toBe(0);
    expect(hex(h.r(3).stateDigest())).toBe(before);

    // The genuine one is then installed.
    const ok = h.inject(3, h.state(1, at8.cert, at8.snapshot));
    expect(ok.events).toEqual([{ type: 'state-transferred', seq: 8, from: 1 }]);
    expect(h.r(3).executed).toBe(8);
  });

  it('a STATE with a forged checkpoint certificate is dropped; state unchanged', () => {
    const h = lagging();
    const before = hex(h.r(3).stateDigest());
    const { at8 } = servedCheckpoint(h);
    const digest = at8.cert.stateDigest;
    const forged: [CheckpointCert, string][] = [
      [h.checkpointCert(8, digest, [0, 1]), 'STATE: checkpoint certificate has 2 signatures, needs 3'],
      [{ ...at8.cert, sigs: [at8.cert.sigs[0]!, at8.cert.sigs[1]!, { from: 2, sig: h.sign(3, h.auth.statements.checkpoint(8, digest)) }] }, 'STATE: checkpoint certificate: bad signature from replica 2'],
      [{ ...h.checkpointCert(4, digest, [0, 1, 2]), seq: 8 }, 'STATE: checkpoint certificate: bad signature from replica 0'],
      [h.checkpointCert(8, digest, [1, 1, 2]), 'STATE: certificate names replica 1 twice'],
    ];
    for (const [cert, reason] of forged) {
      const out = h.inject(3, h.state(0, cert, at8.snapshot));
      expect(out.events).toEqual([{ type: 'drop', reason, from: 0 }]);
      expect(out.persist).toEqual([]);
    }
    expect(h.r(3).executed).toBe(0);
    expect(hex(h.r(3).stateDigest())).toBe(before);
    expect(h.eventsOf(3, 'state-transferred')).toEqual([]);
  });

  it('a STATE for a checkpoint the replica already passed is ignored', () => {
    const h = lagging();
    const { at4, at8 } = servedCheckpoint(h);
    h.inject(3, h.state(0, at8.cert, at8.snapshot));
    expect(h.r(3).executed).toBe(8);
    const out = h.inject(3, h.state(1, at4.cert, at4.snapshot));
    expect(out).toEqual({ persist: [], send: [], replies: [], executed: [], events: [] });
    expect(h.r(3).executed).toBe(8);
  });
});
