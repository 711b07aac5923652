/**
 * The drivers' shared contract (src/core/driver.ts, io.ts, restart.ts): outputs are carried out
 * in the core's order, promises are the ops that must sync before a send, only author-bound
 * messages are refused from a relayer, and a restart is one call that hands back its outputs.
 */
import { describe, expect, it } from 'vitest';
import { carryOut, persistOf, type DriverIO } from '../../src/core/driver.ts';
import { emptyDurableState } from '../../src/core/durable.ts';
import { emptyOutputs, mayBeRelayed, mustSyncBeforeSend, type Outputs, type PersistOp } from '../../src/core/io.ts';
import { restartReplica } from '../../src/core/restart.ts';
import { kvStoreFactory } from '../../src/app/kv-store.ts';
import { Harness } from './harness.ts';

const checkpointOp = (seq: number): PersistOp => ({ kind: 'checkpoint', cert: { epoch: 0, seq, stateDigest: new Uint8Array(32), sigs: [] }, snapshot: new Uint8Array(0) });

describe('carryOut', () => {
  it('persists first, then sends, replies and raw frames, then events and executions', () => {
    const h = new Harness();
    const log: string[] = [];
    const io: DriverIO = {
      disk: { write: (ops, mustSync) => log.push(`write ${ops.map((o) => o.kind).join(',')} sync=${mustSync}`) },
      network: { send: (s) => log.push(`send ${s.message.type}`), reply: () => log.push('reply'), raw: () => log.push('raw') },
      observer: { event: (e) => log.push(`event ${e.type}`), executed: (e) => log.push(`executed ${e.slot}`) },
    };
    const propose = h.propose(0, 1, [h.put(0, 'k', 'v')]);
    const out: Outputs = {
      ...emptyOutputs(),
      persist: [{ kind: 'view', view: 1, normal: true }],
      send: [{ to: 'all', message: propose }],
      events: [{ type: 'checkpoint-stable', seq: 0 }],
    };
    carryOut(out, io, [{ to: 1, frame: new Uint8Array([1]) }]);
    expect(log).toEqual(['write view sync=true', 'send propose', 'raw', 'event checkpoint-stable']);
  });

  it('writes nothing for a step that persists nothing', () => {
    let writes = 0;
    carryOut(emptyOutputs(), { disk: { write: () => writes++ }, network: { send: () => undefined, reply: () => undefined } });
    expect(writes).toBe(0);
  });
});

describe('the core says what must sync before a send', () => {
  it('promises (view, NEW-VIEW, proposal, COMMIT sent) must; records (prepared, decided, checkpoint) may trail', () => {
    const h = new Harness();
    const promises: PersistOp[] = [
      { kind: 'view', view: 1, normal: false },
      { kind: 'proposal', slot: 1, view: 0, batch: [], sig: new Uint8Array(64) },
      { kind: 'commit-sent', slot: 1, view: 0, digest: new Uint8Array(32) },
      { kind: 'new-view', message: h.newView(4, [], []) },
    ];
    for (const op of promises) expect(mustSyncBeforeSend(op), op.kind).toBe(true);
    expect(mustSyncBeforeSend(checkpointOp(8))).toBe(false);
    expect(persistOf([{ ...emptyOutputs(), persist: [checkpointOp(8)] }]).mustSync).toBe(false);
    expect(persistOf([{ ...emptyOutputs(), persist: [checkpointOp(8)] }, { ...emptyOutputs(), persist: promises.slice(0, 1) }]).mustSync).toBe(true);
  });
});

describe('the core says what may be relayed', () => {
  it('votes only from their author; proposals, VIEW-CHANGEs and client requests may be forwarded', () => {
    const h = new Harness();
    expect(mayBeRelayed(h.accept(1, 0, 1, new Uint8Array(32)))).toBe(false);
    expect(mayBeRelayed(h.commit(1, 0, 1, new Uint8Array(32)))).toBe(false);
    expect(mayBeRelayed(h.propose(0, 1, []))).toBe(true);
    expect(mayBeRelayed(h.viewChange(1, 1))).toBe(true);
    expect(mayBeRelayed({ type: 'request', request: h.put(0, 'k', 'v') })).toBe(true);
  });
});

describe('restartReplica', () => {
  it('hands back the replica and the outputs it produced while restoring, once', () => {
    const h = new Harness();
    const disk = emptyDurableState();
    disk.view = 1;
    disk.normal = false;
    const opts = { id: 2, config: h.config, params: h.params, signer: h.replicaSigners[2]!, verifier: { verify: () => true }, app: kvStoreFactory() };
    const { replica, outputs } = restartReplica(opts, disk);
    expect(replica.view).toBe(1);
    // A replica that was changing view re-sends its VIEW-CHANGE on restart.
    expect(outputs.send.map((s) => s.message.type)).toContain('view-change');
    expect(replica.takeRestoreOutputs()).toEqual(emptyOutputs());
    expect(restartReplica(opts, undefined).outputs).toEqual(emptyOutputs());
  });
});
