/**
 * The exact bytes every signature covers.
 *
 * A replica's statement is the canonical CBOR array `["byzpax/v1", clusterId, epoch, kind, ...fields]`.
 * The domain tag and cluster id stop a signature from being replayed into another protocol
 * version or cluster; the epoch stops a vote of one membership from counting in another (a
 * removed member's old signatures are worthless afterwards); the kind stops an ACCEPT from being
 * read as a COMMIT; view, slot and digest bind it to one decision. A client's request carries no
 * epoch: clients sign what they want done, and the configuration of the slot decides who may. Certificates are sets of signatures over one such statement, which is why the
 * vote statements carry no sender id (the certificate entry names the signer, and the signer's
 * key checks it).
 */
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import { batchToWire, newViewContent, viewChangeContent } from './signed-content.ts';
import { sha256 } from '../crypto/hash.ts';
import type { Batch, ClientRequest, NewViewMsg, ViewChangeMsg, Digest } from './messages.ts';

export const PROTOCOL_TAG = 'byzpax/v1';

export type VoteKind = 'accept' | 'commit';

export class Statements {
  constructor(
    private readonly clusterId: string,
    readonly epoch = 0,
  ) {}

  private bytes(kind: string, ...fields: unknown[]): Uint8Array {
    return encodeCbor([PROTOCOL_TAG, this.clusterId, this.epoch, kind, ...fields]);
  }

  request(r: Pick<ClientRequest, 'clientId' | 'ts' | 'op'>): Uint8Array {
    return encodeCbor([PROTOCOL_TAG, this.clusterId, 'request', r.clientId, r.ts, r.op]);
  }

  /** ACCEPT and PROPOSE share this statement (see messages.ts). */
  vote(kind: VoteKind, view: number, slot: number, digest: Digest): Uint8Array {
    return this.bytes(kind, view, slot, digest);
  }

  checkpoint(seq: number, stateDigest: Digest): Uint8Array {
    return this.bytes('checkpoint', seq, stateDigest);
  }

  viewChange(m: Omit<ViewChangeMsg, 'sig' | 'type'>): Uint8Array {
    return this.bytes('view-change', m.newView, m.from, sha256(encodeCbor(viewChangeContent(m))));
  }

  newView(m: Omit<NewViewMsg, 'sig' | 'type'>): Uint8Array {
    return this.bytes('new-view', m.view, sha256(encodeCbor(newViewContent(m))));
  }

  /** One client's answer, a leaf of its slot's reply tree (src/core/replies.ts). */
  replyLeaf(clientId: number, ts: number, result: Uint8Array): Uint8Array {
    return this.bytes('reply-leaf', clientId, ts, result);
  }

  /** What a replica signs for the replies of one slot: the root of their tree, and its size. */
  replies(view: number, slot: number, size: number, root: Digest): Uint8Array {
    return this.bytes('replies', view, slot, size, root);
  }

  status(view: number, executed: number, stable: number, from: number): Uint8Array {
    return this.bytes('status', view, executed, stable, from);
  }

  decision(from: number, slot: number, digest: Digest): Uint8Array {
    return this.bytes('decision', from, slot, digest);
  }

  /**
   * A STATE crosses epochs (sender and receiver may be in different ones) and certifies nothing
   * by itself (its checkpoint certificate and proofs do): its signature binds no epoch.
   */
  state(from: number, seq: number, snapshotDigest: Digest): Uint8Array {
    return encodeCbor([PROTOCOL_TAG, this.clusterId, 'state', from, seq, snapshotDigest]);
  }
}

/** The digest a proposal is voted on: it covers every request, client signatures included. */
export function batchDigest(batch: Batch): Digest {
  return sha256(encodeCbor(batchToWire(batch)));
}
