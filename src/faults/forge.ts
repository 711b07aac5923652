/**
 * forge: runs the protocol honestly and, every few ticks, sends one forgery from a fixed catalog
 * (in turn, so every kind appears in every long enough run). Each one is invalid by construction
 * and must be dropped by every correct replica, with a named reason:
 *
 *   signatures     bad signature; signed by this replica but claiming another sender; signed for
 *                  another cluster (domain separation); a PROPOSE "from the leader" signed by us;
 *                  CHECKPOINT / STATUS / STATE / NEW-VIEW with bad signatures; a client request
 *                  with a broken client signature or from an unknown client
 *   certificates   shipped DECISIONs whose certificate has too few signers, one signer twice, a
 *                  signer outside the cluster, signatures lifted from another slot, or a batch
 *                  that does not hash to the certified digest; a VIEW-CHANGE carrying a checkpoint
 *                  certificate with a duplicated signer
 *   wrong place    a PROPOSE 1000 slots above the high watermark (WM-1)
 *   replays        old-view PROPOSEs and VIEW-CHANGEs it received earlier (REPLAY-1)
 *   raw frames     random bytes, a truncated frame, an unknown type tag, a wrong field count, a
 *                  digest of the wrong length, a non-canonical encoding — through `takeRawFrames`,
 *                  because a `Message` cannot be malformed
 */
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import { encodeMessage } from '../codec/wire.ts';
import type { ReplicaId } from '../core/config.ts';
import type { Input, Outputs } from '../core/io.ts';
import type { Batch, DecisionCert, Digest, ReplicaMessage, RequestMsg, Signature, SignerSig } from '../core/messages.ts';
import { batchDigest, Statements } from '../core/statements.ts';
import { sha256 } from '../crypto/hash.ts';
import { WrappedReplica } from './base.ts';

type Forgery = () => boolean;

export class ForgeNode extends WrappedReplica {
  readonly strategy = 'forge' as const;
  private turn = 0;
  private readonly received: ReplicaMessage[] = [];
  private readonly decided: { cert: DecisionCert; batch: Batch }[] = [];
  private out: Outputs | undefined;
  /** How many of each kind were sent. */
  readonly stats = new Map<string, number>();

  private readonly catalog: [string, Forgery][] = [
    ['accept-bad-signature', () => this.send('all', { type: 'accept', view: this.v, slot: this.slot, digest: this.junkDigest(), from: this.id, sig: this.flip(this.auth.signVote('accept', this.v, this.slot, this.junkDigest())) })],
    ['commit-impersonated', () => {
      const from = this.dice.pick(this.others);
      const digest = this.junkDigest();
      // Signed with OUR key but naming another replica as the sender.
      return this.send('all', { type: 'commit', view: this.v, slot: this.slot, digest, from, sig: this.auth.signVote('commit', this.v, this.slot, digest) });
    }],
    ['accept-other-cluster', () => {
      const digest = this.junkDigest();
      const foreign = new Statements(`${this.ctx.config.clusterId}-other`);
      return this.send('all', { type: 'accept', view: this.v, slot: this.slot, digest, from: this.id, sig: this.auth.sign(foreign.vote('accept', this.v, this.slot, digest)) });
    }],
    ['decision-too-few-signers', () => this.decision([], (d) => [{ from: this.id, sig: this.auth.signVote('commit', this.v, this.slot, d) }])],
    ['decision-duplicate-signer', () =>
      this.decision([], (d) => {
        const sig = this.auth.signVote('commit', this.v, this.slot, d);
        return Array.from({ length: this.quorums.q }, () => ({ from: this.id, sig }));
      })],
    ['decision-non-member-signer', () =>
      this.decision([], (d) => {
        const sig = this.auth.signVote('commit', this.v, this.slot, d);
        return Array.from({ length: this.quorums.q }, (_, i) => ({ from: i === 0 ? this.n + 7 : i, sig }));
      })],
    ['decision-batch-mismatch', () => {
      const batch = this.anyBatch();
      const digest = batchDigest([...batch, ...batch]); // certifies some other batch
      const cert: DecisionCert = { kind: 'commit', view: this.v, slot: this.slot, digest, sigs: [{ from: this.id, sig: this.auth.signVote('commit', this.v, this.slot, digest) }] };
      return this.send('all', { type: 'decision', batch, cert, from: this.id, sig: this.auth.sign(this.auth.statements.decision(this.id, this.slot, digest)) });
    }],
    ['decision-lifted-signatures', () => {
      const real = this.decided[this.decided.length - 1];
      if (!real) return false;
      // A real certificate's signatures, relabelled for a slot they were never given for.
      const cert: DecisionCert = { ...real.cert, slot: this.slot };
      return this.send('all', { type: 'decision', batch: real.batch, cert, from: this.id, sig: this.auth.sign(this.auth.statements.decision(this.id, this.slot, cert.digest)) });
    }],
    ['propose-above-watermark', () => {
      const slot = this.inner.highWatermark + 1000;
      return this.send('all', { type: 'propose', view: this.v, slot, batch: [], sig: this.auth.signVote('accept', this.v, slot, batchDigest([])) });
    }],
    ['propose-not-leader', () => {
      let sig = this.auth.signVote('accept', this.v, this.slot, batchDigest([]));
      if (this.leaderOf(this.v) === this.id) sig = this.flip(sig); // ours would be a real proposal
      return this.send('all', { type: 'propose', view: this.v, slot: this.slot, batch: [], sig });
    }],
    ['replay-old-propose', () => {
      const old = this.received.filter((m) => m.type === 'propose' && m.view < this.v);
      return old.length > 0 && this.send('all', this.dice.pick(old));
    }],
    ['replay-old-view-change', () => {
      const old = this.received.filter((m) => m.type === 'view-change' && m.newView <= this.v);
      return old.length > 0 && this.send('all', this.dice.pick(old));
    }],
    ['view-change-impersonated', () => {
      // Claims another replica wants a far view, signed by us: must not touch what that replica really asked for.
      const from = this.dice.pick(this.others);
      const body = { newView: this.v + 5, from, checkpoint: this.genesisCheckpoint(), slots: [], batches: [] };
      return this.send('all', { type: 'view-change', ...body, sig: this.auth.sign(this.auth.statements.viewChange(body)) });
    }],
    ['view-change-bad-checkpoint-cert', () => {
      const seq = this.params.checkpointInterval;
      const stateDigest = this.junkDigest();
      const sig = this.auth.sign(this.auth.statements.checkpoint(seq, stateDigest));
      const body = { newView: this.v + 1, from: this.id, checkpoint: { epoch: this.auth.epoch, seq, stateDigest, sigs: [{ from: this.id, sig }, { from: this.id, sig }, { from: this.id, sig }] }, slots: [], batches: [] };
      return this.send('all', { type: 'view-change', ...body, sig: this.auth.sign(this.auth.statements.viewChange(body)) });
    }],
    ['new-view-bad-signature', () => {
      const body = { view: this.v + 1, viewChanges: [], proposals: [] };
      let sig = this.auth.sign(this.auth.statements.newView(body));
      if (this.leaderOf(this.v + 1) === this.id) sig = this.flip(sig);
      return this.send('all', { type: 'new-view', ...body, sig });
    }],
    ['checkpoint-bad-signature', () => {
      const K = this.params.checkpointInterval;
      const seq = (Math.floor(this.inner.lowWatermark / K) + 1) * K;
      const stateDigest = this.junkDigest();
      return this.send('all', { type: 'checkpoint', seq, stateDigest, from: this.id, sig: this.flip(this.auth.sign(this.auth.statements.checkpoint(seq, stateDigest))) });
    }],
    ['status-bad-signature', () => this.send('all', { type: 'status', epoch: this.auth.epoch, view: this.v, executed: 0, stable: 0, from: this.id, sig: this.flip(this.auth.sign(this.auth.statements.status(this.v, 0, 0, this.id))) })],
    ['state-bad-signature', () => {
      const seq = this.inner.executed + 10 * this.params.checkpointInterval;
      const snapshot = sha256(encodeCbor(['junk', this.now]));
      const cert = { epoch: this.auth.epoch, seq, stateDigest: sha256(snapshot), sigs: [] };
      return this.send('all', { type: 'state', links: [], checkpoint: cert, snapshot, from: this.id, sig: this.flip(this.auth.sign(this.auth.statements.state(this.id, seq, sha256(snapshot)))) });
    }],
    ['request-bad-client-signature', () => {
      const r = this.seenRequests[this.seenRequests.length - 1];
      if (!r) return false;
      return this.send('all', { type: 'request', request: { ...r, ts: r.ts + 1000, sig: this.flip(r.sig) } });
    }],
    ['request-unknown-client', () => this.send('all', { type: 'request', request: { clientId: 9999, ts: 1, op: new Uint8Array([1, 2, 3]), sig: new Uint8Array(64) } })],
    ['frame-random-bytes', () => this.rawFrame(Uint8Array.from({ length: 1 + this.dice.int(48) }, () => this.dice.int(256)))],
    ['frame-truncated', () => {
      const frame = encodeMessage({ type: 'status', epoch: this.auth.epoch, view: this.v, executed: this.inner.executed, stable: this.inner.lowWatermark, from: this.id, sig: new Uint8Array(64) });
      return this.rawFrame(frame.slice(0, Math.max(1, frame.length - 1 - this.dice.int(frame.length - 1))));
    }],
    ['frame-unknown-tag', () => this.rawFrame(encodeCbor([99, this.v, this.slot]))],
    ['frame-wrong-field-count', () => this.rawFrame(encodeCbor([3, this.v, this.slot]))],
    ['frame-wrong-digest-length', () => this.rawFrame(encodeCbor([3, this.v, this.slot, new Uint8Array(31), this.id, new Uint8Array(64)]))],
    ['frame-non-canonical', () => {
      // The type tag written in the 2-byte form (0x18 0x09): the same value, not the canonical bytes.
      const frame = encodeMessage({ type: 'status', epoch: this.auth.epoch, view: this.v, executed: this.inner.executed, stable: this.inner.lowWatermark, from: this.id, sig: new Uint8Array(64) });
      return this.rawFrame(Uint8Array.from([frame[0]!, 0x18, frame[1]!, ...frame.slice(2)]));
    }],
  ];

  /** Forgery kinds, in the order they are sent. */
  get kinds(): string[] {
    return this.catalog.map(([k]) => k);
  }

  protected override onInput(input: Input): boolean {
    if (input.kind === 'message') {
      const m = input.message;
      if (m.type === 'propose' || m.type === 'view-change') {
        this.received.push(m);
        if (this.received.length > 64) this.received.shift();
      }
    }
    return true;
  }

  protected override rewrite(out: Outputs, input: Input | undefined): Outputs {
    for (const op of out.persist) {
      if (op.kind === 'decided' && op.batch) {
        this.decided.push({ cert: op.cert, batch: op.batch });
        if (this.decided.length > 8) this.decided.shift();
      }
    }
    if (input?.kind === 'tick' && this.now % this.tuning.forgeEveryTicks === 0) {
      this.out = out;
      for (let tries = 0; tries < this.catalog.length; tries++) {
        const [kind, forge] = this.catalog[this.turn++ % this.catalog.length]!;
        if (forge()) {
          this.stats.set(kind, (this.stats.get(kind) ?? 0) + 1);
          break;
        }
      }
      this.out = undefined;
    }
    return out;
  }

  // --- material ---

  private get v(): number {
    return this.inner.view;
  }

  /** A slot above everyone's execution point but inside their window: the checks must run. */
  private get slot(): number {
    return this.inner.executed + 3;
  }

  private junkDigest(): Digest {
    return sha256(encodeCbor(['forge', this.id, this.now, this.turn]));
  }

  private flip(sig: Signature): Signature {
    const s = new Uint8Array(sig);
    s[0] = s[0]! ^ 0x01;
    return s;
  }

  private anyBatch(): Batch {
    const r = this.seenRequests[this.seenRequests.length - 1];
    return r ? [r] : [];
  }

  private genesisCheckpoint() {
    return { epoch: 0, seq: 0, stateDigest: this.genesisDigest, sigs: [] };
  }

  private decision(batch: Batch, sigs: (digest: Digest) => SignerSig[]): boolean {
    const digest = batchDigest(batch);
    const cert: DecisionCert = { kind: 'commit', view: this.v, slot: this.slot, digest, sigs: sigs(digest) };
    return this.send('all', { type: 'decision', batch, cert, from: this.id, sig: this.auth.sign(this.auth.statements.decision(this.id, this.slot, digest)) });
  }

  private send(to: ReplicaId | 'all', message: ReplicaMessage | RequestMsg): boolean {
    this.out!.send.push({ to, message });
    return true;
  }

  private rawFrame(frame: Uint8Array): boolean {
    this.raw('all', frame);
    return true;
  }
}
