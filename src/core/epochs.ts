/**
 * The chain of configurations a replica has verified, from genesis (cluster.json, epoch 0) to the
 * latest, and the proofs that link them.
 *
 * Epoch e+1 is proved by an EpochLink: the membership bytes of the snapshot at its boundary B, the
 * hash of the rest of that snapshot, and q signatures of epoch e's members on the checkpoint at B.
 * The state digest binds the membership bytes, so only a quorum of epoch e — at least f+1 correct
 * members — can vouch for epoch e+1. A member removed at e can sign nothing that counts later:
 * every statement carries its epoch, and a checkpoint certificate of epoch e counts only for a
 * sequence number inside e's slots (activatedAt(e), activatedAt(e+1)].
 */
import { bytesEqual } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { Auth } from './auth.ts';
import { epochOf } from './config.ts';
import { Membership, type EpochConfig } from './membership.ts';
import type { CheckpointCert, Digest, EpochLink } from './messages.ts';
import { splitSnapshot, stateDigestFromParts } from './replicated-state.ts';

export class EpochChain {
  /** `epochs[i]` is epoch base + i's configuration and boundary. */
  private readonly epochs: EpochConfig[];
  /** `proofs[i]` proves epoch base + i + 1. */
  private readonly proofs: EpochLink[] = [];
  private readonly auths = new Map<number, Auth>();
  /** The epoch the chain starts from: 0 (genesis) for replicas; a client may start later. */
  readonly base: number;

  /**
   * `genesisDigest` is the state digest at slot 0 (what the seq-0 checkpoint certifies); a chain
   * that starts from a later configuration the user trusts (a client's fetched file) has none.
   */
  constructor(
    first: EpochConfig,
    private readonly firstAuth: Auth,
    private readonly genesisDigest?: Digest,
  ) {
    this.base = epochOf(first.config);
    this.epochs = [first];
    this.auths.set(this.base, firstAuth);
  }

  get latest(): EpochConfig {
    return this.epochs[this.epochs.length - 1]!;
  }

  get(epoch: number): EpochConfig | undefined {
    return epoch < this.base ? undefined : this.epochs[epoch - this.base];
  }

  /** The proofs of epochs above `epoch`, oldest first (what a peer in `epoch` needs to follow us). */
  linksAbove(epoch: number): EpochLink[] {
    return this.proofs.slice(Math.max(0, epoch - this.base));
  }

  get links(): readonly EpochLink[] {
    return this.proofs;
  }

  /** Checks against epoch `epoch` (signatures, members, quorums); undefined for an epoch not known here. */
  authOf(epoch: number): Auth | undefined {
    let a = this.auths.get(epoch);
    if (!a) {
      const e = this.get(epoch);
      if (!e) return undefined;
      a = this.firstAuth.forConfig(e.config);
      this.auths.set(epoch, a);
    }
    return a;
  }

  /**
   * Null if `cert` is a valid checkpoint certificate: genesis, or q signatures of the members of
   * `cert.epoch` on a sequence number inside that epoch's slots.
   */
  checkCheckpoint(cert: CheckpointCert): string | null {
    if (cert.seq === 0) return this.genesisDigest ? this.firstAuth.checkCheckpointCert(cert, 0, this.genesisDigest) : 'the genesis checkpoint, not known here';
    const e = this.get(cert.epoch);
    if (!e) return `checkpoint certificate of epoch ${cert.epoch}, not known here (latest ${epochOf(this.latest.config)})`;
    if (cert.seq <= e.activatedAt) return `checkpoint ${cert.seq} precedes epoch ${cert.epoch}, which starts after slot ${e.activatedAt}`;
    const after = this.get(cert.epoch + 1);
    if (after && cert.seq > after.activatedAt) return `checkpoint ${cert.seq} of epoch ${cert.epoch}, which ended at slot ${after.activatedAt}`;
    const auth = this.authOf(cert.epoch)!;
    return auth.checkCheckpointCert(cert, auth.quorums.q, this.genesisDigest ?? new Uint8Array(0));
  }

  /**
   * Verifies the proof of the epoch after the latest and appends it; returns the new epoch, or why
   * the proof is wrong. A proof of an epoch already known is accepted only if it names the same
   * configuration (returns 'known').
   */
  extend(link: EpochLink, clusterId: string): EpochConfig | 'known' | string {
    let m: Membership;
    try {
      m = Membership.decode(link.membership, clusterId);
    } catch (e) {
      return `configuration proof: ${(e as Error).message}`;
    }
    const epoch = epochOf(m.current.config);
    const nextEpoch = this.base + this.epochs.length;
    // Epochs up to the base are taken on trust (genesis, or the file a client started from).
    if (epoch <= this.base) return 'known';
    if (epoch < nextEpoch) {
      const known = this.proofs[epoch - this.base - 1];
      return known && bytesEqual(known.membership, link.membership) ? 'known' : `configuration proof for epoch ${epoch} differs from the one verified here`;
    }
    if (epoch !== nextEpoch) return `configuration proof for epoch ${epoch}, but the next one here is ${nextEpoch}`;
    if (m.next) return 'configuration proof: a boundary state with a change still pending';
    if (link.cert.epoch !== epoch - 1) return `configuration proof for epoch ${epoch} certified by epoch ${link.cert.epoch}`;
    if (link.cert.seq !== m.current.activatedAt) return `configuration proof: certificate at ${link.cert.seq}, boundary at ${m.current.activatedAt}`;
    if (!bytesEqual(stateDigestFromParts(sha256(link.membership), link.restHash), link.cert.stateDigest)) return 'configuration proof: membership does not match the certified state';
    const problem = this.checkCheckpoint(link.cert);
    if (problem) return `configuration proof: ${problem}`;
    this.epochs.push(m.current);
    this.proofs.push(link);
    return m.current;
  }
}

/** The proof of the configuration that a boundary checkpoint's snapshot starts. */
export function linkFromSnapshot(cert: CheckpointCert, snapshot: Uint8Array): EpochLink {
  const { membership, rest } = splitSnapshot(snapshot);
  return { membership, restHash: sha256(rest), cert };
}
