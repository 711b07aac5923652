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
import { epochOf, leaderOf, memberOf, quorums } from './config.ts';
import type { CheckpointCert, ClientRequest, DecisionCert, Digest, Signature, VoteCert } from './messages.ts';
import { Statements, type VoteKind } from './statements.ts';

export interface SignFn {
  sign(message: Uint8Array): Uint8Array;
  /** The key's public half, when known: a replica whose key is rotated picks the signer matching its new entry. */
  readonly publicKey?: Uint8Array;
}

export interface VerifyFn {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * One Auth per epoch: statements carry the epoch, and signers are checked against that epoch's
 * members and quorums only. `forConfig` makes the next epoch's, sharing signer, verifier and counters.
 */
export class Auth {
  readonly statements: Statements;
  readonly quorums: Quorums;
  readonly epoch: number;
  private readonly clientKeys: Map<number, Uint8Array>;
  /** Signatures this replica made and verifications it asked for (cache hits included). */
  readonly counters: { signed: number; verifyRequests: number };

  constructor(
    readonly config: ClusterConfig,
    private readonly signer: SignFn,
    private readonly verifier: VerifyFn,
    counters?: { signed: number; verifyRequests: number },
  ) {
    this.epoch = epochOf(config);
    this.statements = new Statements(config.clusterId, this.epoch);
    this.quorums = quorums(config.n, config.f);
    // Admins are clients too: they sign requests (membership changes) with their own keys.
    this.clientKeys = new Map([...config.clients, ...(config.admins ?? [])].map((c) => [c.id, c.publicKey]));
    this.counters = counters ?? { signed: 0, verifyRequests: 0 };
  }

  /** The same replica's Auth for another configuration (another epoch, possibly another key). */
  forConfig(config: ClusterConfig, signer: SignFn = this.signer): Auth {
    return new Auth(config, signer, this.verifier, this.counters);
  }

  /** The public key of replica `id` in this epoch. */
  keyOf(id: ReplicaId): Uint8Array | undefined {
    return memberOf(this.config, id)?.publicKey;
  }

  sign(statement: Uint8Array): Signature {
    this.counters.signed++;
    return this.signer.sign(statement);
  }

  signVote(kind: VoteKind, view: number, slot: number, digest: Digest): Signature {
    return this.sign(this.statements.vote(kind, view, slot, digest));
  }

  isReplica(id: number): boolean {
    return memberOf(this.config, id) !== undefined;
  }

  isClient(id: number): boolean {
    return this.clientKeys.has(id);
  }

  verifyReplica(from: ReplicaId, statement: Uint8Array, sig: Signature): boolean {
    const replica = memberOf(this.config, from);
    if (!replica) return false;
    this.counters.verifyRequests++;
    return this.verifier.verify(replica.publicKey, statement, sig);
  }

  /** A signature by a key given directly (a peer of another epoch, a replica joining). */
  verifyWithKey(publicKey: Uint8Array, statement: Uint8Array, sig: Signature): boolean {
    this.counters.verifyRequests++;
    return this.verifier.verify(publicKey, statement, sig);
  }

  verifyVote(kind: VoteKind, from: ReplicaId, view: number, slot: number, digest: Digest, sig: Signature): boolean {
    return this.verifyReplica(from, this.statements.vote(kind, view, slot, digest), sig);
  }

  /** A proposal is the leader's ACCEPT statement, so it verifies against the leader of its view. */
  verifyProposal(view: number, slot: number, digest: Digest, sig: Signature): boolean {
    return this.verifyVote('accept', leaderOf(view, this.config), view, slot, digest, sig);
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

  /**
   * The genesis checkpoint (seq 0) is certified by its digest alone; every other one by q
   * signatures of this epoch's members. Which epoch a checkpoint belongs to is the caller's to
   * check (epochs.ts): this only checks the certificate against this Auth's epoch.
   */
  checkCheckpointCert(cert: CheckpointCert, threshold: number, genesisDigest: Digest): string | null {
    if (cert.seq === 0) {
      return bytesEqual(cert.stateDigest, genesisDigest) && cert.sigs.length === 0 && cert.epoch === 0 ? null : 'genesis checkpoint does not match the initial state';
    }
    if (cert.epoch !== this.epoch) return `checkpoint certificate of epoch ${cert.epoch} checked against epoch ${this.epoch}`;
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
      if (!this.isReplica(s.from)) return `certificate signer ${s.from} is not a member of epoch ${this.epoch}`;
      if (seen.has(s.from)) return `certificate names replica ${s.from} twice`;
      seen.add(s.from);
    }
    return seen;
  }
}
