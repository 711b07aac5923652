/**
 * What one replica knows about one slot of the log: the proposal it accepted, the votes it has
 * seen, and the certificates it has assembled. Votes are kept as each sender's highest-view vote
 * only, so a slot holds at most n ACCEPTs and n COMMITs however much a faulty peer sends.
 */
import type { ReplicaId } from './config.ts';
import type { Batch, DecisionCert, Digest, Signature, VoteCert } from './messages.ts';

export interface Vote {
  view: number;
  digest: Digest;
  digestHex: string;
  sig: Signature;
}

export interface AcceptedProposal {
  view: number;
  digest: Digest;
  digestHex: string;
  batch: Batch;
  /** The leader's signature: proof of the proposal in a VIEW-CHANGE. */
  sig: Signature;
}

export type VoteRecord = 'recorded' | 'stale' | 'duplicate' | 'conflict';

export class SlotState {
  proposal: AcceptedProposal | undefined;
  /** Batch bodies known for this slot, by digest hex. */
  readonly bodies = new Map<string, Batch>();
  readonly accepts = new Map<ReplicaId, Vote>();
  readonly commits = new Map<ReplicaId, Vote>();
  /** `checked`: every signature verified (channel-votes.ts); false while some came unchecked on their authors' channels. */
  prepared: { cert: VoteCert; digestHex: string; checked: boolean } | undefined;
  commitSent: { view: number; digestHex: string; sig: Signature } | undefined;
  /**
   * `attested`: learned from f+1 peers' DECISIONs whose certificate does not check (catch-up.ts),
   * so the certificate is not proof; otherwise it may hold unchecked votes from their own channels
   * (channel-votes.ts).
   */
  decided: { cert: DecisionCert; digestHex: string; attested?: boolean; proof?: boolean; restored?: boolean } | undefined;
  /** Peers' signed DECISIONs for this slot whose certificates did not check, by sender: digest hex (catch-up.ts). */
  readonly attestations = new Map<ReplicaId, string>();
  /** Tick of the last progress on this slot; drives retransmission. */
  lastActivity = 0;

  constructor(readonly slot: number) {}

  /**
   * Keeps the sender's highest-view vote. Two different digests from one sender in one view are
   * a double vote: the first is kept and the conflict reported.
   */
  static record(votes: Map<ReplicaId, Vote>, from: ReplicaId, vote: Vote): VoteRecord {
    const prior = votes.get(from);
    if (prior && prior.view > vote.view) return 'stale';
    if (prior && prior.view === vote.view) return prior.digestHex === vote.digestHex ? 'duplicate' : 'conflict';
    votes.set(from, vote);
    return 'recorded';
  }

  /** Signatures of every sender whose vote is for (view, digest), sorted by sender for determinism. */
  static matching(votes: Map<ReplicaId, Vote>, view: number, digestHex: string): { from: ReplicaId; sig: Signature }[] {
    const out: { from: ReplicaId; sig: Signature }[] = [];
    for (const [from, v] of votes) if (v.view === view && v.digestHex === digestHex) out.push({ from, sig: v.sig });
    return out.sort((a, b) => a.from - b.from);
  }

  /** The first (view, digest) that `threshold` senders agree on, as a certificate of exactly `threshold` signatures. */
  static quorumCert(votes: Map<ReplicaId, Vote>, slot: number, threshold: number): VoteCert | undefined {
    const groups = new Map<string, Vote>();
    for (const v of votes.values()) groups.set(`${v.view}/${v.digestHex}`, v);
    for (const g of groups.values()) {
      const sigs = SlotState.matching(votes, g.view, g.digestHex);
      if (sigs.length >= threshold) return { view: g.view, slot, digest: g.digest, sigs: sigs.slice(0, threshold) };
    }
    return undefined;
  }

  body(digestHex: string): Batch | undefined {
    return this.bodies.get(digestHex);
  }
}
