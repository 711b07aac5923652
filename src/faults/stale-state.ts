/**
 * stale-state: attacks checkpoints and state transfer (CKPT-1, LAG-1); ordering runs honestly.
 *
 *   CHECKPOINT  every checkpoint it signs names a wrong state digest (validly signed: no
 *               certificate can form for it without q − 1 correct accomplices); now and then it
 *               re-sends a long-stable CHECKPOINT (stale), or one for a sequence number that is
 *               not a checkpoint at all
 *   STATE       every snapshot it serves is corrupt — random bytes, or a well-formed snapshot of
 *               another state (the genesis one) — re-signed so only the certificate check can
 *               catch it; and to any peer whose STATUS shows it behind, an unasked-for STATE whose
 *               checkpoint certificate is forged (its own signature only, claiming a later seq)
 *   DECISION    half of the decided slots it ships carry a batch that does not hash to the
 *               certified digest
 */
import { kvStoreFactory } from '../app/kv-store.ts';
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import type { ReplicaId } from '../core/config.ts';
import type { Input, Outputs, Send } from '../core/io.ts';
import type { CheckpointMsg, StateMsg, StatusMsg } from '../core/messages.ts';
import { ReplicatedState, stateDigestOf } from '../core/replicated-state.ts';
import { sha256 } from '../crypto/hash.ts';
import { WrappedReplica } from './base.ts';

export class StaleStateNode extends WrappedReplica {
  readonly strategy = 'stale-state' as const;
  private readonly ownCheckpoints: CheckpointMsg[] = [];
  private readonly lastForgedStateTo = new Map<ReplicaId, number>();
  private pendingExtra: Send[] = [];
  readonly stats = { wrongCheckpoints: 0, staleCheckpoints: 0, corruptSnapshots: 0, forgedStates: 0, corruptDecisions: 0 };

  protected override onInput(input: Input): boolean {
    if (input.kind === 'message' && input.message.type === 'status') this.maybeForgeState(input.message);
    return true;
  }

  protected override rewrite(out: Outputs, input: Input | undefined): Outputs {
    const sends: Send[] = [...this.pendingExtra];
    this.pendingExtra = [];
    for (const s of out.send) {
      const m = s.message;
      if (m.type === 'checkpoint' && m.from === this.id) {
        sends.push({ to: s.to, message: this.wrongCheckpoint(m) });
      } else if (m.type === 'state' && m.from === this.id) {
        sends.push({ to: s.to, message: this.corruptState(m) });
      } else if (m.type === 'decision' && m.from === this.id && m.batch.length > 0 && this.dice.chance(0.5)) {
        this.stats.corruptDecisions++;
        const batch = this.alternativeBatch(m.batch) ?? [];
        sends.push({ to: s.to, message: { ...m, batch } });
      } else {
        sends.push(s);
      }
    }
    if (input?.kind === 'tick' && this.now % 25 === 0) {
      const stale = this.ownCheckpoints.filter((c) => c.seq <= this.inner.lowWatermark);
      if (stale.length > 0 && this.dice.chance(0.5)) {
        this.stats.staleCheckpoints++;
        sends.push({ to: 'all', message: this.dice.pick(stale) });
      } else {
        // Not a checkpoint sequence number at all.
        const seq = this.inner.lowWatermark + 1;
        const stateDigest = sha256(encodeCbor(['stale', seq]));
        sends.push({ to: 'all', message: { type: 'checkpoint', seq, stateDigest, from: this.id, sig: this.auth.sign(this.auth.statements.checkpoint(seq, stateDigest)) } });
      }
    }
    out.send = sends;
    return out;
  }

  private wrongCheckpoint(m: CheckpointMsg): CheckpointMsg {
    const known = this.ownCheckpoints.find((c) => c.seq === m.seq);
    if (known) return known;
    this.stats.wrongCheckpoints++;
    const stateDigest = sha256(encodeCbor(['wrong', this.id, m.seq, m.stateDigest]));
    const lie: CheckpointMsg = { type: 'checkpoint', seq: m.seq, stateDigest, from: this.id, sig: this.auth.sign(this.auth.statements.checkpoint(m.seq, stateDigest)) };
    this.ownCheckpoints.push(lie);
    if (this.ownCheckpoints.length > 16) this.ownCheckpoints.shift();
    return lie;
  }

  private corruptState(m: StateMsg): StateMsg {
    this.stats.corruptSnapshots++;
    const snapshot = this.dice.chance(0.5)
      ? Uint8Array.from({ length: 16 + this.dice.int(64) }, () => this.dice.int(256))
      : new ReplicatedState((this.ctx.app ?? kvStoreFactory)(), this.ctx.config).snapshot();
    return { ...m, snapshot, sig: this.auth.sign(this.auth.statements.state(this.id, m.checkpoint.seq, stateDigestOf(snapshot) ?? sha256(snapshot))) };
  }

  /** A peer behind us gets a STATE it did not ask for, "certified" by our signature alone. */
  private maybeForgeState(status: StatusMsg): void {
    if (!this.auth.isReplica(status.from) || status.from === this.id) return;
    const K = this.params.checkpointInterval;
    const seq = (Math.floor(status.executed / K) + 1) * K;
    if (seq > this.inner.executed + K) return;
    const last = this.lastForgedStateTo.get(status.from) ?? -Infinity;
    if (this.now - last < 2 * this.params.statusIntervalTicks) return;
    this.lastForgedStateTo.set(status.from, this.now);
    this.stats.forgedStates++;
    const snapshot = new ReplicatedState((this.ctx.app ?? kvStoreFactory)(), this.ctx.config).snapshot();
    const stateDigest = stateDigestOf(snapshot)!;
    const sig = this.auth.sign(this.auth.statements.checkpoint(seq, stateDigest));
    const message: StateMsg = {
      type: 'state',
      links: [],
      checkpoint: { epoch: this.auth.epoch, seq, stateDigest, sigs: [{ from: this.id, sig }] },
      snapshot,
      from: this.id,
      sig: this.auth.sign(this.auth.statements.state(this.id, seq, stateDigest)),
    };
    this.pendingExtra.push({ to: status.from, message });
  }
}
