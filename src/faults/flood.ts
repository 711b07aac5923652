/**
 * flood: runs the protocol honestly and, on top, sends junk every tick (FLOOD-1) — bounded per
 * tick and per incarnation so a simulated run stays fast (`floodPerTick`, `floodBudget`):
 *   - copies of its own recent messages, over and over (duplicates must be idempotent);
 *   - ACCEPTs for random slots of the window with random digests, validly signed;
 *   - junk with bad signatures; random bytes that are not a frame at all;
 *   - every 25 ticks a validly signed VIEW-CHANGE for an ever higher view (one replica alone must
 *     not move anyone: the join rule needs f+1);
 *   - every 10 ticks a STATUS claiming it executed nothing, which asks every peer to ship it
 *     decided slots (an amplification the core answers at most once per STATUS, up to 32 DECISIONs).
 */
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import type { Input, Outputs } from '../core/io.ts';
import type { ReplicaMessage, RequestMsg } from '../core/messages.ts';
import { sha256 } from '../crypto/hash.ts';
import { WrappedReplica } from './base.ts';

export class FloodNode extends WrappedReplica {
  readonly strategy = 'flood' as const;
  private readonly recent: (ReplicaMessage | RequestMsg)[] = [];
  private budget = this.tuning.floodBudget;
  private vcView = 0;
  readonly stats = { duplicates: 0, junkAccepts: 0, badSignatures: 0, garbage: 0, viewChanges: 0, statuses: 0 };

  protected override rewrite(out: Outputs, input: Input | undefined): Outputs {
    for (const s of out.send) {
      this.recent.push(s.message);
      if (this.recent.length > 16) this.recent.shift();
    }
    if (input?.kind !== 'tick') return out;
    const v = this.inner.view;
    const send = (message: ReplicaMessage | RequestMsg) => out.send.push({ to: 'all', message });
    if (this.now % 25 === 0 && this.budget > 0) {
      this.budget--;
      this.stats.viewChanges++;
      this.vcView = Math.max(this.vcView, v) + 1 + this.dice.int(3);
      const body = { newView: this.vcView, from: this.id, checkpoint: { epoch: 0, seq: 0, stateDigest: this.genesisDigest, sigs: [] }, slots: [], batches: [] };
      send({ type: 'view-change', ...body, sig: this.auth.sign(this.auth.statements.viewChange(body)) });
    }
    if (this.now % 10 === 5 && this.budget > 0) {
      this.budget--;
      this.stats.statuses++;
      send({ type: 'status', epoch: this.auth.epoch, view: v, executed: 0, stable: 0, from: this.id, sig: this.auth.sign(this.auth.statements.status(v, 0, 0, this.id)) });
    }
    for (let i = 0; i < this.tuning.floodPerTick && this.budget > 0; i++) {
      this.budget--;
      const r = this.dice.next();
      const slot = this.inner.lowWatermark + 1 + this.dice.int(this.params.window);
      const digest = sha256(encodeCbor(['flood', this.id, this.now, i]));
      if (r < 0.55 && this.recent.length > 0) {
        this.stats.duplicates++;
        send(this.dice.pick(this.recent));
      } else if (r < 0.7) {
        this.stats.junkAccepts++;
        send(this.accept(v, slot, digest));
      } else if (r < 0.85) {
        this.stats.badSignatures++;
        send({ type: 'commit', view: v, slot, digest, from: this.id, sig: new Uint8Array(64).fill(1 + this.dice.int(255)) });
      } else {
        this.stats.garbage++;
        this.raw('all', Uint8Array.from({ length: 1 + this.dice.int(200) }, () => this.dice.int(256)));
      }
    }
    return out;
  }
}
