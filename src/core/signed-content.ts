/**
 * The canonical array form of the protocol's structures: what a signature or a digest covers.
 *
 * Signed statements (statements.ts) hash a batch, a VIEW-CHANGE or a NEW-VIEW in this form, and
 * the wire format (src/codec/wire.ts) sends messages in it, so the bytes a replica signs are the
 * bytes a peer decodes and checks. The core owns it; the codec builds on it.
 */
import type { Batch, CheckpointCert, ClientRequest, DecisionCert, EpochLink, ProposeMsg, SignerSig, SlotEvidence, ViewChangeMsg, VoteCert } from './messages.ts';

export const sigsToWire = (sigs: SignerSig[]) => sigs.map((s) => [s.from, s.sig]);
export const requestToWire = (r: ClientRequest) => [r.clientId, r.ts, r.op, r.sig];
export const batchToWire = (b: Batch) => b.map(requestToWire);
export const voteCertToWire = (c: VoteCert) => [c.view, c.slot, c.digest, sigsToWire(c.sigs)];
export const decisionCertToWire = (c: DecisionCert) => [c.kind === 'fast' ? 1 : 0, ...voteCertToWire(c)];
export const checkpointCertToWire = (c: CheckpointCert) => [c.epoch, c.seq, c.stateDigest, sigsToWire(c.sigs)];
export const epochLinkToWire = (l: EpochLink) => [l.membership, l.restHash, checkpointCertToWire(l.cert)];
export const evidenceToWire = (e: SlotEvidence) => [
  e.slot,
  e.lastVote ? [e.lastVote.view, e.lastVote.digest, e.lastVote.leaderSig] : null,
  e.prepared ? voteCertToWire(e.prepared) : null,
  e.decided ? decisionCertToWire(e.decided) : null,
];
export const proposeBody = (m: ProposeMsg) => [m.view, m.slot, batchToWire(m.batch)];

/** The fields of a VIEW-CHANGE that its signature covers (everything but the signature). */
export function viewChangeContent(m: Omit<ViewChangeMsg, 'sig' | 'type'>): unknown[] {
  return [m.newView, m.from, checkpointCertToWire(m.checkpoint), m.slots.map(evidenceToWire), m.batches.map(batchToWire)];
}

/** The fields of a NEW-VIEW that its signature covers. */
export function newViewContent(m: { view: number; viewChanges: ViewChangeMsg[]; proposals: ProposeMsg[] }): unknown[] {
  return [m.view, m.viewChanges.map((vc) => [...viewChangeContent(vc), vc.sig]), m.proposals.map((p) => [...proposeBody(p), p.sig])];
}

