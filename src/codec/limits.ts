/**
 * Hard bounds on every field a peer or client can send. Decoding rejects anything larger before
 * the protocol sees it, so a Byzantine sender cannot make a replica allocate without bound.
 */
import { MAX_LINKS_PER_PROOF } from '../core/messages.ts';

export const limits = {
  /** Largest frame accepted from the network (bytes). */
  maxFrameBytes: 16 * 1024 * 1024,
  /** Largest client operation (bytes). */
  maxOpBytes: 128 * 1024,
  /** Largest reply result (bytes). */
  maxResultBytes: 256 * 1024,
  /** Most requests in one batch. */
  maxBatchRequests: 1024,
  /** Most replicas a cluster may have (bounds certificate sizes). */
  maxReplicas: 256,
  /** Largest replica id: ids are never reused, so they grow with every replacement (bounds nothing else). */
  maxReplicaId: 1_048_575,
  /** Most configuration proofs in one STATE (one per membership change since genesis). */
  maxEpochLinks: 4096,
  /** Most configuration proofs in one answer to a client (it asks again for more). */
  maxLinksPerProof: MAX_LINKS_PER_PROOF,
  /** Largest membership state in a configuration proof (bytes). */
  maxMembershipBytes: 256 * 1024,
  /** Most slots one VIEW-CHANGE may report (≥ the largest window anyone configures). */
  maxViewChangeSlots: 8192,
  /** Largest application snapshot shipped in one STATE message (bytes). */
  maxSnapshotBytes: 12 * 1024 * 1024,
  /** Every integer on the wire must be a safe non-negative integer below this. */
  maxUint: Number.MAX_SAFE_INTEGER,
  digestBytes: 32,
  signatureBytes: 64,
} as const;
