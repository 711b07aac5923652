/**
 * Signing and verification on behalf of one replica: who may sign what, and whether a
 * certificate really carries `threshold` valid signatures from distinct members.
 *
 * Signatures are deterministic (Ed25519), so the core stays pure even though it signs. The
 * verifier is injected: it may cache successful verifications, which is what makes re-checking
 * the same votes inside certificates, view changes and new views cheap.
 */
import { bytesEqual } from '../crypto/bytes.ts';
import type { ClusterConfig, Quorums, ReplicaId } from './config.ts';
import { leaderOf, quorums } from './config.ts';
import type { CheckpointCert, ClientRequest, DecisionCert, Digest, Signature, VoteCert } from './messages.ts';
import { Statements, type VoteKind } from './statements.ts';

export interface SignFn {
  sign(message: Uint8Array): Uint8Array;
}

export interface VerifyFn {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export class Auth {
  readonly statements: Statements;
  readonly quorums: Quorums;
  private readonly clientKeys: Map<number, Uint8Array>;
  /** Signatures this replica made and verifications it asked for (cache hits included). */
  readonly counters = { signed: 0, verifyRequests: 0 };

  constructor(
    readonly config: ClusterConfig,
    private readonly signer: SignFn,
    private readonly verifier: VerifyFn,
  ) {
    this.statements = new Statements(config.clusterId);
    this.quorums = quorums(config.n, config.f);
    this.clientKeys = new Map(config.clients.map((c) => [c.id, c.publicKey]));
  }

  sign(statement: Uint8Array): Signature {
    this.counters.signed++;
    return this.signer.sign(statement);
  }

  signVote(kind: VoteKind, view: number, slot: number, digest: Digest): Signature {
    return this.sign(this.statements.vote(kind, view, slot, digest));
  }

  isReplica(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.config.n;
  }

  isClient(id: number): boolean {
    return this.clientKeys.has(id);
  }

  verifyReplica(from: ReplicaId, statement: Uint8Array, sig: Signature): boolean {
    const replica = this.config.replicas[from];
    if (!replica) return false;
    this.counters.verifyRequests++;
    return this.verifier.verify(replica.publicKey, statement, sig);
  }

  verifyVote(kind: VoteKind, from: ReplicaId, view: number, slot: number, digest: Digest, sig: Signature): boolean {
    return this.verifyReplica(from, this.statements.vote(kind, view, slot, digest), sig);
  }

  /** A proposal is the leader's ACCEPT statement, so it verifies against the leader of its view. */
  verifyProposal(view: number, slot: number, digest: Digest, sig: Signature): boolean {
    return this.verifyVote('accept', leaderOf(view, this.config.n), view, slot, digest, sig);
  }

  verifyRequest(r: ClientRequest): boolean {
    const key = this.clientKeys.get(r.clientId);
    if (!key) return false;
    this.counters.verifyRequests++;
    return this.verifier.verify(key, this.statements.request(r), r.sig);
  }

  /**
   * Returns null if `cert` holds at least `threshold` valid signatures over (kind, view, slot,
   * digest) from distinct replicas of this cluster, else the reason it does not.
   */
  checkVoteCert(kind: VoteKind, cert: VoteCert, threshold: number): string | null {
    const signers = this.distinctSigners(cert.sigs);
    if (typeof signers === 'string') return signers;
    if (cert.sigs.length < threshold) return `${kind} certificate has ${cert.sigs.length} signatures, needs ${threshold}`;
    const statement = this.statements.vote(kind, cert.view, cert.slot, cert.digest);
    for (const s of cert.sigs) {
      if (!this.verifyReplica(s.from, statement, s.sig)) return `${kind} certificate: bad signature from replica ${s.from}`;
    }
    return null;
  }

  /** A fast certificate needs Qf ACCEPTs, a commit certificate q COMMITs. */
  checkDecisionCert(cert: DecisionCert): string | null {
    return cert.kind === 'fast' ? this.checkVoteCert('accept', cert, this.quorums.fast) : this.checkVoteCert('commit', cert, this.quorums.q);
  }

  /** The genesis checkpoint (seq 0) is certified by its digest alone; every other one by q signatures. */
  checkCheckpointCert(cert: CheckpointCert, threshold: number, genesisDigest: Digest): string | null {
    if (cert.seq === 0) {
      return bytesEqual(cert.stateDigest, genesisDigest) && cert.sigs.length === 0 ? null : 'genesis checkpoint does not match the initial state';
    }
    const signers = this.distinctSigners(cert.sigs);
    if (typeof signers === 'string') return signers;
    if (cert.sigs.length < threshold) return `checkpoint certificate has ${cert.sigs.length} signatures, needs ${threshold}`;
    const statement = this.statements.checkpoint(cert.seq, cert.stateDigest);
    for (const s of cert.sigs) {
      if (!this.verifyReplica(s.from, statement, s.sig)) return `checkpoint certificate: bad signature from replica ${s.from}`;
    }
    return null;
  }

  private distinctSigners(sigs: { from: number }[]): Set<number> | string {
    const seen = new Set<number>();
    for (const s of sigs) {
      if (!this.isReplica(s.from)) return `certificate signer ${s.from} is not a replica of this cluster`;
      if (seen.has(s.from)) return `certificate names replica ${s.from} twice`;
      seen.add(s.from);
    }
    return seen;
  }
}
