/**
 * Votes that came on their author's authenticated channel are counted without a signature check;
 * a signature is checked only when a certificate is about to serve as proof for someone else.
 *
 * Why votes are signed at all: certificates must convince third parties (a new leader, a replica
 * catching up). A replica counting votes for itself needs only to know who sent each one, and
 * an ACCEPT or COMMIT whose sender is `m.from` and which came on `m.from`'s own channel (the
 * handshake proved the peer; every later frame is sealed) is known to be its sender's. So:
 *
 *  1. Counting. ACCEPTs and COMMITs from their author's channel are recorded unchecked. A fast
 *     certificate (Qf ACCEPTs) or a commit certificate (q COMMITs) built from them decides, and
 *     the replica executes on it. Why that is safe: a decision's safety argument counts only
 *     correct replicas — Qf ACCEPTs leave τ = Qf − 2f correct acceptors in any n − f
 *     VIEW-CHANGEs, q COMMITs leave q − f correct committers with prepare certificates — and what
 *     those report in a view change is signed by themselves (their vote, proved by the leader's
 *     checked PROPOSE signature; their prepare certificate, checked before they committed, rule 2).
 *     A faulty replica's invalid signature makes the certificate unusable as proof, never the
 *     decision untrue: the faulty replica did send that vote.
 *  2. Promises. Before a replica sends its COMMIT it checks every signature of the prepare
 *     certificate the COMMIT rests on (normal-case.ts, `checkedPrepared`); a prepare certificate
 *     may be held unchecked until then, but one a COMMIT rests on is replaced only by a checked
 *     one. The PROPOSE signature a backup's ACCEPT rests on is checked before it accepts, as before.
 *  3. Proof. A decision certificate goes into a VIEW-CHANGE only if all of its signatures check
 *     (`allSignaturesCheck`); one that does not is left out (rule 1: the correct replicas' own evidence
 *     carries the decision). A DECISION shipped to a replica catching up is its sender's signed
 *     statement that the slot is decided; with a certificate that checks it convinces alone, and
 *     otherwise f+1 matching ones from distinct replicas' own channels do (one is correct) —
 *     PBFT's f+1 rule, which keeps a replica that missed votes live when every certificate of a
 *     slot holds a faulty replica's invalid signature (catch-up.ts).
 *  4. A replica found sending an invalid signature on its own channel is distrusted: its votes
 *     are checked on arrival from then on, so it cannot spoil more certificates.
 *
 * Checkpoint, VIEW-CHANGE, NEW-VIEW, STATUS, DECISION and STATE signatures are checked on arrival
 * as before: they are rare, and most are forwarded as proof.
 */
import type { ReplicaId } from './config.ts';
import type { DecisionCert, Digest, VoteCert } from './messages.ts';
import type { ReplicaState } from './replica-state.ts';
import { SlotState, type Vote } from './slot.ts';
import type { VoteKind } from './statements.ts';

/** True if a vote from `from` that arrived on `channel` may be counted without checking its signature. */
export function countsUnchecked(r: ReplicaState, channel: ReplicaId | undefined, from: ReplicaId): boolean {
  return channel === from && !r.distrusted.has(from);
}

/**
 * `threshold` matching votes for (view, digest) whose signatures check, as a certificate, or
 * undefined. Unchecked votes are checked now (checked ones are verifier-cache hits, our own need
 * none); a vote that fails is removed and its sender distrusted.
 */
export function provableQuorum(r: ReplicaState, votes: Map<ReplicaId, Vote>, kind: VoteKind, slot: number, view: number, digest: Digest, digestHex: string, threshold: number): VoteCert | undefined {
  const matching = SlotState.matching(votes, view, digestHex);
  if (matching.length < threshold) return undefined;
  const sigs: VoteCert['sigs'] = [];
  for (const m of matching) {
    if (sigs.length === threshold) break;
    if (m.from === r.id || r.auth.verifyVote(kind, m.from, view, slot, digest, m.sig)) {
      sigs.push(m);
    } else {
      votes.delete(m.from);
      distrust(r, m.from, kind, slot, view);
    }
  }
  return sigs.length === threshold ? { view, slot, digest, sigs } : undefined;
}

/**
 * True if every signature of `cert` (`kind` votes) checks; our own needs none. `fromChannels`: the
 * votes came on their signers' own channels, so a signer whose signature fails is distrusted (not
 * so for a certificate a peer shipped us, whose sender may have spoiled someone else's signature).
 */
export function allSignaturesCheck(r: ReplicaState, kind: VoteKind, cert: VoteCert, fromChannels: boolean): boolean {
  for (const s of cert.sigs) {
    if (s.from === r.id || r.auth.verifyVote(kind, s.from, cert.view, cert.slot, cert.digest, s.sig)) continue;
    if (fromChannels) distrust(r, s.from, kind, cert.slot, cert.view);
    return false;
  }
  return true;
}

/** The kind of vote a decision certificate is made of. */
export function voteKindOf(cert: DecisionCert): VoteKind {
  return cert.kind === 'fast' ? 'accept' : 'commit';
}

function distrust(r: ReplicaState, culprit: ReplicaId, kind: VoteKind, slot: number, view: number): void {
  if (r.distrusted.has(culprit)) return;
  r.distrusted.add(culprit);
  r.misbehaviour(culprit, `${kind.toUpperCase()} for slot ${slot} in view ${view} with an invalid signature, on its own channel`);
}
