/**
 * The simulator's safety checks, run on every output of every correct replica as it happens
 * (brief §3). The checker sees the whole cluster, which no replica does, and trusts nothing a
 * replica says about itself: certificates and client signatures are re-verified here.
 *
 *   S1 agreement      no two correct replicas execute different digests for one slot
 *   S2 total order    each replica executes slot after slot with no gap (a verified state transfer may jump)
 *   S3 integrity      every executed request is signed by its client and applied in one slot only
 *   S4 certificates   every execution is backed by q valid COMMIT signatures from distinct replicas
 *   S5 vote unique    a correct replica signs one ACCEPT and one COMMIT per (view, slot), across restarts
 *   S6 monotonic view a correct replica's view never decreases, across restarts
 *   S8 checkpoints    correct replicas' checkpoint digests agree per sequence number
 *   clients           every result a client accepted is what the replicas executed for that request
 */
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { Auth } from '../core/auth.ts';
import type { ExecutedSlot } from '../core/io.ts';
import type { DecisionCert, Message } from '../core/messages.ts';
import { batchDigest } from '../core/statements.ts';

/**
 * What the correct replicas (and the clients) noticed during a run: evidence that faulty replicas
 * were caught, not only survived. Keys are strings (JSON); reasons have numbers and digests
 * replaced by N and H so they aggregate across slots and views.
 */
export interface Detections {
  /** `misbehaviour` events raised by correct replicas, by culprit replica id. */
  misbehaviourBy: Record<string, number>;
  /** The same events by what was proven. */
  misbehaviour: Record<string, number>;
  /** `drop` events of correct replicas, by reason. */
  drops: Record<string, number>;
  /**
   * The same drops by the sender they name (when they name one). Not proof: a message with a bad
   * signature can name anyone (a forger impersonating a correct replica shows up under its id).
   */
  dropsFrom: Record<string, number>;
  /** Frames a correct replica could not decode, by reason. */
  malformedFrames: Record<string, number>;
  /** Replies a client refused outright, by reason. */
  clientRejections: Record<string, number>;
  /** Validly signed replies contradicting the result the client accepted, by replica. */
  wrongReplies: Record<string, number>;
  /** The first misbehaviour events, verbatim. */
  first: { at: number; by: number; culprit: number; what: string }[];
}

export function emptyDetections(): Detections {
  return { misbehaviourBy: {}, misbehaviour: {}, drops: {}, dropsFrom: {}, malformedFrames: {}, clientRejections: {}, wrongReplies: {}, first: [] };
}

/** Numbers → N, hex digests → H: one key per kind of reason. */
export function normalizeReason(reason: string): string {
  return reason.replace(/\b[0-9a-f]{8,}\b/g, 'H').replace(/\d+/g, 'N');
}

export function bump(record: Record<string, number>, key: string | number, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

export function total(record: Record<string, number>): number {
  let t = 0;
  for (const v of Object.values(record)) t += v;
  return t;
}

export function mergeDetections(into: Detections, from: Detections): void {
  for (const k of ['misbehaviourBy', 'misbehaviour', 'drops', 'dropsFrom', 'malformedFrames', 'clientRejections', 'wrongReplies'] as const) {
    for (const [key, v] of Object.entries(from[k])) bump(into[k], key, v);
  }
  for (const e of from.first) if (into.first.length < 10) into.first.push(e);
}

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly executedDigest = new Map<number, { hex: string; by: number }>();
  private readonly appliedAt = new Map<string, { slot: number; result: Uint8Array }>();
  private readonly lastExecuted = new Map<number, number>();
  private readonly votes = new Map<string, string>();
  private readonly views = new Map<number, number>();
  private readonly checkpoints = new Map<number, string>();
  /** Highest slot executed by any correct replica. */
  highestExecuted = 0;

  /** Highest view any correct replica reached. */
  get highestView(): number {
    let v = 0;
    for (const x of this.views.values()) v = Math.max(v, x);
    return v;
  }

  /**
   * `authForSlot` gives the epoch each slot belongs to (the simulator's ground truth of verified
   * configurations): a certificate counts only with signers and quorums of its slot's epoch.
   */
  constructor(
    private readonly auth: Auth,
    private readonly authForSlot: (slot: number) => Auth = () => auth,
    /** Which replicas run the honest protocol (a faulty one may spoil its own signatures). */
    private readonly isHonest: (id: number) => boolean = () => true,
  ) {}

  /** Records a violation found outside the per-output checks (alarms, linearizability). */
  report(what: string): void {
    this.violation(what);
  }

  private violation(what: string): void {
    if (this.violations.length < 50) this.violations.push(what);
  }

  onExecuted(replica: number, e: ExecutedSlot): void {
    const last = this.lastExecuted.get(replica) ?? 0;
    if (e.slot !== last + 1) this.violation(`S2: replica ${replica} executed slot ${e.slot} after ${last}`);
    this.lastExecuted.set(replica, e.slot);
    this.highestExecuted = Math.max(this.highestExecuted, e.slot);

    const hex = toHex(e.digest);
    const prior = this.executedDigest.get(e.slot);
    if (!prior) this.executedDigest.set(e.slot, { hex, by: replica });
    else if (prior.hex !== hex) this.violation(`S1: slot ${e.slot} executed as ${hex.slice(0, 12)} by replica ${replica} but ${prior.hex.slice(0, 12)} by replica ${prior.by}`);

    if (!bytesEqual(batchDigest(e.batch), e.digest)) this.violation(`S4: replica ${replica} executed slot ${e.slot} with a batch that does not match its digest`);
    if (e.cert.slot !== e.slot || !bytesEqual(e.cert.digest, e.digest)) this.violation(`S4: replica ${replica} slot ${e.slot} certificate is for another slot or digest`);
    const epochAuth = this.authForSlot(e.slot);
    const problem = e.attested ? null : this.certProblem(epochAuth, e.cert);
    if (problem) this.violation(`S4: replica ${replica} executed slot ${e.slot} on an invalid certificate: ${problem}`);

    for (const r of e.batch) {
      if (!epochAuth.verifyRequest(r)) this.violation(`S3: replica ${replica} executed an unsigned or forged request c${r.clientId}:${r.ts} in slot ${e.slot}`);
    }
    for (const a of e.applied) {
      const key = `${a.clientId}:${a.ts}`;
      const at = this.appliedAt.get(key);
      if (!at) this.appliedAt.set(key, { slot: e.slot, result: a.result });
      else if (at.slot !== e.slot) this.violation(`S3: request ${key} applied in slot ${at.slot} and again in slot ${e.slot} (replica ${replica})`);
      else if (!bytesEqual(at.result, a.result)) this.violation(`S1: request ${key} gave different results on different replicas`);
    }
  }

  /**
   * Votes from their authors' own channels are counted unchecked (channel-votes.ts), so only a
   * faulty replica's signature may fail in a certificate a correct replica executed on: the shape
   * must hold and every correct signer's signature must check.
   */
  private certProblem(auth: Auth, cert: DecisionCert): string | null {
    const problem = auth.checkDecisionCert(cert);
    if (!problem) return null;
    const kind = cert.kind === 'fast' ? 'accept' : 'commit';
    const threshold = cert.kind === 'fast' ? auth.quorums.fast : auth.quorums.q;
    const signers = new Set(cert.sigs.map((s) => s.from));
    if (signers.size !== cert.sigs.length || cert.sigs.length < threshold || cert.sigs.some((s) => !auth.isReplica(s.from))) return problem;
    const statement = auth.statements.vote(kind, cert.view, cert.slot, cert.digest);
    const spoiled = cert.sigs.filter((s) => !auth.verifyReplica(s.from, statement, s.sig)).map((s) => s.from);
    const correct = spoiled.filter((id) => this.isHonest(id));
    return correct.length > 0 ? `${problem} (replica ${correct.join(', ')} is correct)` : null;
  }

  /** A restart or a state transfer legitimately resets where execution continues from. */
  onExecutionReset(replica: number, executed: number): void {
    this.lastExecuted.set(replica, executed);
  }

  onSent(replica: number, m: Message): void {
    let kind: string | undefined;
    let view = 0;
    let slot = 0;
    let hex = '';
    if (m.type === 'accept' || m.type === 'commit') {
      kind = m.type;
      view = m.view;
      slot = m.slot;
      hex = toHex(m.digest);
    } else if (m.type === 'propose') {
      kind = 'accept'; // a proposal is the leader's ACCEPT
      view = m.view;
      slot = m.slot;
      hex = toHex(batchDigest(m.batch));
    } else if (m.type === 'checkpoint') {
      const d = toHex(m.stateDigest);
      const prior = this.checkpoints.get(m.seq);
      if (!prior) this.checkpoints.set(m.seq, d);
      else if (prior !== d) this.violation(`S8: replica ${replica} checkpoint ${m.seq} digest ${d.slice(0, 12)} differs from ${prior.slice(0, 12)}`);
    }
    if (!kind) return;
    const key = `${replica}/${kind}/${view}/${slot}`;
    const prior = this.votes.get(key);
    if (!prior) this.votes.set(key, hex);
    else if (prior !== hex) this.violation(`S5: replica ${replica} signed two ${kind.toUpperCase()}s for view ${view} slot ${slot}`);
  }

  onView(replica: number, view: number): void {
    const prior = this.views.get(replica) ?? 0;
    if (view < prior) this.violation(`S6: replica ${replica} went from view ${prior} back to ${view}`);
    this.views.set(replica, Math.max(prior, view));
  }

  /** A client accepted `result` for its request: it must be what the replicas executed. */
  onClientAccepted(clientId: number, ts: number, slot: number, result: Uint8Array): void {
    const at = this.appliedAt.get(`${clientId}:${ts}`);
    if (!at) return this.violation(`S10: client ${clientId} accepted a result for request ${ts} that no correct replica executed`);
    if (at.slot !== slot || !bytesEqual(at.result, result)) this.violation(`S10: client ${clientId} accepted a result for request ${ts} that differs from the executed one`);
  }

  /** Correct replicas that executed the same number of slots must hold byte-identical state. */
  compareStates(states: { replica: number; executed: number; digest: Uint8Array }[]): void {
    const bySlot = new Map<number, { replica: number; hex: string }>();
    for (const s of states) {
      const hex = toHex(s.digest);
      const prior = bySlot.get(s.executed);
      if (!prior) bySlot.set(s.executed, { replica: s.replica, hex });
      else if (prior.hex !== hex) this.violation(`state digests differ at slot ${s.executed}: replica ${s.replica} vs replica ${prior.replica}`);
    }
  }
}
