/**
 * Who checks a client's signature, and when: each request's signature is checked once where it
 * matters, not by every replica on arrival.
 *
 * A client may send its signed request to every replica (on retry, or always with the client's
 * `requestsToAll`), each copy on the client's own authenticated channel (src/net: a handshake
 * signed by the client's key, then every frame sealed). A copy that arrived that way is known to
 * be the client's own bytes without a signature check.
 *
 *  - The leader checks every request it proposes (on arrival, or when a new view puts a waiting
 *    request in its queue). Otherwise a client that sends a bad signature to the leader alone
 *    could get a correct leader blamed by backups that check — Aardvark's objection to MAC
 *    authenticators.
 *  - A backup does not check a request that came on its client's channel. It keeps the request's
 *    digest (all of its bytes, signature included: matched by digest, never by request number),
 *    and when a PROPOSE carries a byte-identical copy, that copy is not checked again. Anything
 *    else in a PROPOSE — a request the backup never got from the client, a copy that differs in
 *    any byte, one relayed by a peer — is checked as before, so a leader that forges or alters a
 *    request is still caught and blamed.
 *  - A backup about to suspect the leader over a request it never checked checks it first: a
 *    client that sends bad signatures to the backups only cannot get a correct leader deposed
 *    (the leader dropped the request; the backups find the signature bad and drop it too).
 *
 * What this gives up: a request with an invalid signature can be executed only if it is
 * byte-identical to what its own client sent on its own channel (the client really asked for it)
 * and a faulty leader proposed it. Requests from any other source are checked as before, and the
 * log keeps every signature, so certificates and proofs stay transferable.
 */
import { encodeCbor } from '../crypto/canonical-cbor.ts';
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ClientId } from './config.ts';
import type { ClientRequest } from './messages.ts';

/** How many unchecked requests a backup remembers per client (a client has one in flight; a few cover retries). */
const PER_CLIENT = 4;

/** The digest that identifies one exact request: every field, the signature included. */
export function requestDigestHex(r: ClientRequest): string {
  return toHex(sha256(encodeCbor([r.clientId, r.ts, r.op, r.sig])));
}

/**
 * Requests a backup took unchecked from their clients' own channels, by digest: bounded per
 * client (a client that sends more pushes out its own oldest, never another client's).
 */
export class DirectRequests {
  private readonly byClient = new Map<ClientId, { ts: number; digest: string }[]>();

  note(r: ClientRequest): void {
    const digest = requestDigestHex(r);
    let list = this.byClient.get(r.clientId);
    if (!list) this.byClient.set(r.clientId, (list = []));
    if (list.some((e) => e.digest === digest)) return;
    list.push({ ts: r.ts, digest });
    if (list.length > PER_CLIENT) list.shift();
  }

  /** True if `r` is byte-identical to a request its client sent us on its own channel. */
  holds(r: ClientRequest): boolean {
    const list = this.byClient.get(r.clientId);
    if (!list) return false;
    const digest = requestDigestHex(r);
    return list.some((e) => e.digest === digest);
  }

  /** Forgets a client's requests up to `ts`: one of them executed, the rest can never be. */
  executed(clientId: ClientId, ts: number): void {
    const list = this.byClient.get(clientId);
    if (!list) return;
    const kept = list.filter((e) => e.ts > ts);
    if (kept.length === 0) this.byClient.delete(clientId);
    else this.byClient.set(clientId, kept);
  }

  /** Requests remembered, over all clients (at most PER_CLIENT each). */
  get size(): number {
    let n = 0;
    for (const l of this.byClient.values()) n += l.length;
    return n;
  }
}
