/**
 * removed-member: the "I still work here" attack on reconfiguration (Kuznetsov & Tonkikh). Honest
 * while it is a member. Once an epoch it verified no longer lists it — removed, replaced, or its
 * key rotated away — it keeps the old key and, every tick, signs one thing for the epochs after,
 * in turn:
 *
 *   later epochs   ACCEPT and COMMIT for the slot the members are deciding (on the value it saw
 *                  proposed, or on another), in the current epoch and the next; a CHECKPOINT; a
 *                  VIEW-CHANGE; a PROPOSE and a NEW-VIEW as if it led; a DECISION whose
 *                  certificate carries its own signature in place of a member's
 *   old epoch      its own votes and CHECKPOINTs from while it was a member, replayed verbatim;
 *                  and new ones signed in that epoch for slots and checkpoints above its boundary
 *
 * None of it may count: every statement names its epoch, a vote counts only from a member of that
 * epoch, and an epoch's window stops at its boundary. (Signatures of more than f removed members
 * of one epoch could still fork that epoch's history for someone who only knows it — the attack
 * proper; a strategy is one replica, within f.)
 */
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import { sha256 } from '../crypto/hash.ts';
import type { Input, Outputs } from '../core/io.ts';
import type { Batch, CheckpointCert, DecisionCert, Digest, ReplicaMessage } from '../core/messages.ts';
import { batchDigest, Statements } from '../core/statements.ts';
import { WrappedReplica } from './base.ts';

type Forgery = () => ReplicaMessage | undefined;

/** Old messages kept for replay. */
const KEEP = 64;

export class RemovedMemberNode extends WrappedReplica {
  readonly strategy = 'removed-member' as const;
  /** The last epoch it voted in (undefined until it has been a member in this incarnation). */
  private lastMemberEpoch: number | undefined;
  private turn = 0;
  /** Votes and CHECKPOINTs it signed while a member. */
  private readonly ownVotes: ReplicaMessage[] = [];
  /** A digest seen for a slot (proposals and votes of anyone): what the members are deciding. */
  private readonly seenDigests = new Map<number, Digest>();
  private readonly decided: { cert: DecisionCert; batch: Batch }[] = [];
  /** Per kind, how many it sent after its removal (tests read them). */
  readonly stats = new Map<string, number>();

  private readonly catalog: [string, Forgery][] = [
    ['accept-later-epoch', () => this.vote('accept', this.epoch, this.targetSlot, this.realDigest)],
    ['commit-later-epoch', () => this.vote('commit', this.epoch, this.targetSlot, this.realDigest)],
    ['accept-other-value', () => this.vote('accept', this.epoch, this.targetSlot, this.junk('accept'))],
    ['commit-next-epoch', () => this.vote('commit', this.epoch + 1, this.targetSlot, this.realDigest)],
    ['checkpoint-later-epoch', () => this.checkpoint(this.epoch, this.nextCheckpoint)],
    ['view-change-later-epoch', () => {
      const body = { newView: this.inner.view + 1, from: this.id, checkpoint: this.genesisCheckpoint(), slots: [], batches: [] };
      return { type: 'view-change', ...body, sig: this.auth.sign(this.statements(this.epoch).viewChange(body)) };
    }],
    ['propose-later-epoch', () => {
      const batch: Batch = [];
      return { type: 'propose', view: this.inner.view, slot: this.targetSlot, batch, sig: this.auth.sign(this.statements(this.epoch).vote('accept', this.inner.view, this.targetSlot, batchDigest(batch))) };
    }],
    ['new-view-later-epoch', () => {
      const body = { view: this.inner.view + 1, viewChanges: [], proposals: [] };
      return { type: 'new-view', ...body, sig: this.auth.sign(this.statements(this.epoch).newView(body)) };
    }],
    ['decision-own-signature', () => {
      const real = this.decided[this.decided.length - 1];
      if (!real || real.cert.sigs.length === 0) return undefined;
      const { slot, view, digest } = real.cert;
      const sig = this.auth.sign(this.statements(this.epoch).vote(real.cert.kind === 'fast' ? 'accept' : 'commit', view, slot, digest));
      const cert: DecisionCert = { ...real.cert, sigs: [{ from: this.id, sig }, ...real.cert.sigs.slice(1)] };
      return { type: 'decision', batch: real.batch, cert, from: this.id, sig: this.auth.sign(this.statements(this.epoch).decision(this.id, slot, digest)) };
    }],
    ['replay-old-vote', () => (this.ownVotes.length > 0 ? this.dice.pick(this.ownVotes) : undefined)],
    ['old-epoch-vote-new-slot', () => this.vote(this.dice.pick(['accept', 'commit'] as const), this.lastMemberEpoch ?? 0, this.targetSlot, this.realDigest)],
    ['old-epoch-checkpoint-new-seq', () => this.checkpoint(this.lastMemberEpoch ?? 0, this.nextCheckpoint)],
  ];

  /** Kinds of forgery, in the order they are sent. */
  get kinds(): string[] {
    return this.catalog.map(([k]) => k);
  }

  /** True once an epoch it follows no longer counts its key. */
  get removed(): boolean {
    return !this.inner.isMember && this.inner.epoch > 0;
  }

  protected override onInput(input: Input): boolean {
    if (input.kind !== 'message') return true;
    const m = input.message;
    if (m.type === 'propose') this.seenDigests.set(m.slot, batchDigest(m.batch));
    if (m.type === 'accept' || m.type === 'commit') this.seenDigests.set(m.slot, m.digest);
    if (this.seenDigests.size > 4 * this.params.window) for (const s of this.seenDigests.keys()) if (s <= this.inner.executed) this.seenDigests.delete(s);
    return true;
  }

  protected override rewrite(out: Outputs, input: Input | undefined): Outputs {
    if (this.inner.isMember) this.lastMemberEpoch = this.inner.epoch;
    for (const s of out.send) {
      const m = s.message;
      if ((m.type === 'accept' || m.type === 'commit' || m.type === 'checkpoint') && m.from === this.id) {
        this.ownVotes.push(m);
        if (this.ownVotes.length > KEEP) this.ownVotes.shift();
      }
    }
    for (const op of out.persist) {
      if (op.kind === 'decided' && op.batch) {
        this.decided.push({ cert: op.cert, batch: op.batch });
        if (this.decided.length > 8) this.decided.shift();
      }
    }
    if (input?.kind === 'tick' && this.removed) {
      for (let tries = 0; tries < this.catalog.length; tries++) {
        const [kind, forge] = this.catalog[this.turn++ % this.catalog.length]!;
        const message = forge();
        if (!message) continue;
        out.send.push({ to: 'all', message });
        this.stats.set(kind, (this.stats.get(kind) ?? 0) + 1);
        break;
      }
    }
    return out;
  }

  // --- material ---

  /** The epoch its embedded replica follows now (it keeps following after its removal). */
  private get epoch(): number {
    return this.inner.epoch;
  }

  private statements(epoch: number): Statements {
    return new Statements(this.ctx.config.clusterId, epoch);
  }

  /** The slot the members are most likely deciding now. */
  private get targetSlot(): number {
    return this.inner.executed + 1;
  }

  private get realDigest(): Digest {
    return this.seenDigests.get(this.targetSlot) ?? batchDigest([]);
  }

  private get nextCheckpoint(): number {
    const K = this.params.checkpointInterval;
    return (Math.floor(this.inner.executed / K) + 1) * K;
  }

  private junk(what: string): Digest {
    return sha256(encodeCbor(['removed-member', what, this.id, this.now]));
  }

  private vote(kind: 'accept' | 'commit', epoch: number, slot: number, digest: Digest): ReplicaMessage {
    return { type: kind, view: this.inner.view, slot, digest, from: this.id, sig: this.auth.sign(this.statements(epoch).vote(kind, this.inner.view, slot, digest)) };
  }

  private checkpoint(epoch: number, seq: number): ReplicaMessage {
    const stateDigest = this.junk('checkpoint');
    return { type: 'checkpoint', seq, stateDigest, from: this.id, sig: this.auth.sign(this.statements(epoch).checkpoint(seq, stateDigest)) };
  }

  private genesisCheckpoint(): CheckpointCert {
    return { epoch: 0, seq: 0, stateDigest: this.genesisDigest, sigs: [] };
  }
}
