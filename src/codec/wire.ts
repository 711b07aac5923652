/**
 * Wire format: each message is one CBOR array `[typeTag, ...fields]`, nested structures are arrays
 * too, in a fixed order. `toWire` builds it; `decodeMessage` parses and checks every field (type,
 * range, size) and finally re-encodes the result and compares bytes, so a message is accepted only
 * in its one canonical encoding. Anything else is rejected with a named reason, never thrown past
 * this module.
 */
import type {
  Batch,
  CheckpointCert,
  ClientRequest,
  DecisionCert,
  EpochLink,
  Message,
  SignerSig,
  SlotEvidence,
  ViewChangeMsg,
  VoteCert,
  ProposeMsg,
} from '../core/messages.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { MAX_MERKLE_PATH } from '../crypto/merkle.ts';
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';
import { batchToWire, checkpointCertToWire, decisionCertToWire, epochLinkToWire, newViewContent, proposeBody, requestToWire, viewChangeContent } from '../core/signed-content.ts';
import { limits } from './limits.ts';

const TAGS = {
  request: 1,
  propose: 2,
  accept: 3,
  commit: 4,
  checkpoint: 5,
  'view-change': 6,
  'new-view': 7,
  reply: 8,
  status: 9,
  decision: 10,
  state: 11,
  'config-query': 12,
  'config-proof': 13,
} as const satisfies Record<Message['type'], number>;

/** Why a frame was rejected; surfaces in logs and counters. */
export class DecodeError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

// ---------- encoding ----------

export function toWire(m: Message): unknown[] {
  switch (m.type) {
    case 'request':
      return [TAGS.request, requestToWire(m.request)];
    case 'propose':
      return [TAGS.propose, ...proposeBody(m), m.sig];
    case 'accept':
      return [TAGS.accept, m.view, m.slot, m.digest, m.from, m.sig];
    case 'commit':
      return [TAGS.commit, m.view, m.slot, m.digest, m.from, m.sig];
    case 'checkpoint':
      return [TAGS.checkpoint, m.seq, m.stateDigest, m.from, m.sig];
    case 'view-change':
      return [TAGS['view-change'], ...viewChangeContent(m), m.sig];
    case 'new-view':
      return [TAGS['new-view'], ...newViewContent(m), m.sig];
    case 'reply':
      return [TAGS.reply, m.epoch, m.view, m.clientId, m.ts, m.result, m.slot, m.from, m.index, m.size, m.path, m.sig];
    case 'status':
      return [TAGS.status, m.epoch, m.view, m.executed, m.stable, m.from, m.sig];
    case 'decision':
      return [TAGS.decision, batchToWire(m.batch), decisionCertToWire(m.cert), m.from, m.sig];
    case 'state':
      return [TAGS.state, m.links.map(epochLinkToWire), checkpointCertToWire(m.checkpoint), m.snapshot, m.from, m.sig];
    case 'config-query':
      return [TAGS['config-query'], m.since];
    case 'config-proof':
      return [TAGS['config-proof'], m.links.map(epochLinkToWire)];
  }
}

export function encodeMessage(m: Message): Uint8Array {
  return encodeCbor(toWire(m));
}

// ---------- strict decoding ----------

function fail(reason: string): never {
  throw new DecodeError(reason);
}

function arr(x: unknown, what: string, len?: number, maxLen?: number): unknown[] {
  if (!Array.isArray(x)) fail(`${what}: not an array`);
  if (len !== undefined && x.length !== len) fail(`${what}: expected ${len} fields, got ${x.length}`);
  if (maxLen !== undefined && x.length > maxLen) fail(`${what}: ${x.length} items exceeds limit ${maxLen}`);
  return x;
}

function uint(x: unknown, what: string, max: number = limits.maxUint): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) fail(`${what}: not a non-negative integer`);
  if (x > max) fail(`${what}: ${x} exceeds ${max}`);
  return x;
}

function bytes(x: unknown, what: string, opts: { exact?: number; max?: number }): Uint8Array {
  if (!(x instanceof Uint8Array)) fail(`${what}: not a byte string`);
  if (opts.exact !== undefined && x.length !== opts.exact) fail(`${what}: expected ${opts.exact} bytes, got ${x.length}`);
  if (opts.max !== undefined && x.length > opts.max) fail(`${what}: ${x.length} bytes exceeds ${opts.max}`);
  return x;
}

const digest = (x: unknown, what: string) => bytes(x, what, { exact: limits.digestBytes });
const signature = (x: unknown, what: string) => bytes(x, what, { exact: limits.signatureBytes });
const replicaId = (x: unknown, what: string) => uint(x, what, limits.maxReplicaId);

function request(x: unknown): ClientRequest {
  const [clientId, ts, op, sig] = arr(x, 'request', 4);
  return {
    clientId: uint(clientId, 'request.clientId'),
    ts: uint(ts, 'request.ts'),
    op: bytes(op, 'request.op', { max: limits.maxOpBytes }),
    sig: signature(sig, 'request.sig'),
  };
}

function batch(x: unknown): Batch {
  return arr(x, 'batch', undefined, limits.maxBatchRequests).map(request);
}

function sigs(x: unknown, what: string): SignerSig[] {
  return arr(x, what, undefined, limits.maxReplicas).map((e) => {
    const [from, sig] = arr(e, `${what} entry`, 2);
    return { from: replicaId(from, `${what}.from`), sig: signature(sig, `${what}.sig`) };
  });
}

function voteCert(x: unknown, what: string): VoteCert {
  const [view, slot, d, s] = arr(x, what, 4);
  return { view: uint(view, `${what}.view`), slot: uint(slot, `${what}.slot`), digest: digest(d, `${what}.digest`), sigs: sigs(s, `${what}.sigs`) };
}

function decisionCert(x: unknown, what: string): DecisionCert {
  const [kind, ...rest] = arr(x, what, 5);
  if (kind !== 0 && kind !== 1) fail(`${what}: unknown certificate kind ${String(kind)}`);
  return { kind: kind === 1 ? 'fast' : 'commit', ...voteCert(rest, what) };
}

function checkpointCert(x: unknown): CheckpointCert {
  const [epoch, seq, d, s] = arr(x, 'checkpoint cert', 4);
  return { epoch: uint(epoch, 'checkpoint.epoch'), seq: uint(seq, 'checkpoint.seq'), stateDigest: digest(d, 'checkpoint.stateDigest'), sigs: sigs(s, 'checkpoint.sigs') };
}

function epochLink(x: unknown): EpochLink {
  const [membership, restHash, cert] = arr(x, 'epoch link', 3);
  return { membership: bytes(membership, 'link.membership', { max: limits.maxMembershipBytes }), restHash: digest(restHash, 'link.restHash'), cert: checkpointCert(cert) };
}

function evidence(x: unknown): SlotEvidence {
  const [slot, lv, pc, dc] = arr(x, 'slot evidence', 4);
  const e: SlotEvidence = { slot: uint(slot, 'evidence.slot') };
  if (lv !== null) {
    const [view, d, sig] = arr(lv, 'lastVote', 3);
    e.lastVote = { view: uint(view, 'lastVote.view'), digest: digest(d, 'lastVote.digest'), leaderSig: signature(sig, 'lastVote.sig') };
  }
  if (pc !== null) e.prepared = voteCert(pc, 'prepared');
  if (dc !== null) e.decided = decisionCert(dc, 'decided');
  return e;
}

function propose(fields: unknown[]): ProposeMsg {
  const [view, slot, b, sig] = fields;
  return { type: 'propose', view: uint(view, 'propose.view'), slot: uint(slot, 'propose.slot'), batch: batch(b), sig: signature(sig, 'propose.sig') };
}

function viewChange(fields: unknown[]): ViewChangeMsg {
  const [newView, from, cp, slots, batches, sig] = fields;
  return {
    type: 'view-change',
    newView: uint(newView, 'view-change.newView'),
    from: replicaId(from, 'view-change.from'),
    checkpoint: checkpointCert(cp),
    slots: arr(slots, 'view-change.slots', undefined, limits.maxViewChangeSlots).map(evidence),
    batches: arr(batches, 'view-change.batches', undefined, 3 * limits.maxViewChangeSlots).map(batch),
    sig: signature(sig, 'view-change.sig'),
  };
}

function fromWire(x: unknown): Message {
  const a = arr(x, 'message');
  const [tag, ...f] = a;
  switch (tag) {
    case TAGS.request:
      arr(f, 'request message', 1);
      return { type: 'request', request: request(f[0]) };
    case TAGS.propose:
      return propose(arr(f, 'propose', 4));
    case TAGS.accept:
    case TAGS.commit: {
      const type = tag === TAGS.accept ? 'accept' : 'commit';
      const [view, slot, d, from, sig] = arr(f, type, 5);
      return { type, view: uint(view, `${type}.view`), slot: uint(slot, `${type}.slot`), digest: digest(d, `${type}.digest`), from: replicaId(from, `${type}.from`), sig: signature(sig, `${type}.sig`) };
    }
    case TAGS.checkpoint: {
      const [seq, d, from, sig] = arr(f, 'checkpoint', 4);
      return { type: 'checkpoint', seq: uint(seq, 'checkpoint.seq'), stateDigest: digest(d, 'checkpoint.stateDigest'), from: replicaId(from, 'checkpoint.from'), sig: signature(sig, 'checkpoint.sig') };
    }
    case TAGS['view-change']:
      return viewChange(arr(f, 'view-change', 6));
    case TAGS['new-view']: {
      const [view, vcs, props, sig] = arr(f, 'new-view', 4);
      return {
        type: 'new-view',
        view: uint(view, 'new-view.view'),
        viewChanges: arr(vcs, 'new-view.viewChanges', undefined, limits.maxReplicas).map((vc) => viewChange(arr(vc, 'view-change', 6))),
        proposals: arr(props, 'new-view.proposals', undefined, limits.maxViewChangeSlots).map((p) => propose(arr(p, 'propose', 4))),
        sig: signature(sig, 'new-view.sig'),
      };
    }
    case TAGS.reply: {
      const [epoch, view, clientId, ts, result, slot, from, index, size, path, sig] = arr(f, 'reply', 11);
      const treeSize = uint(size, 'reply.size', limits.maxBatchRequests);
      if (treeSize === 0) fail('reply.size: a reply tree has at least one leaf');
      return {
        type: 'reply',
        epoch: uint(epoch, 'reply.epoch'),
        view: uint(view, 'reply.view'),
        clientId: uint(clientId, 'reply.clientId'),
        ts: uint(ts, 'reply.ts'),
        result: bytes(result, 'reply.result', { max: limits.maxResultBytes }),
        slot: uint(slot, 'reply.slot'),
        from: replicaId(from, 'reply.from'),
        index: uint(index, 'reply.index', treeSize - 1),
        size: treeSize,
        path: arr(path, 'reply.path', undefined, MAX_MERKLE_PATH).map((d) => digest(d, 'reply.path entry')),
        sig: signature(sig, 'reply.sig'),
      };
    }
    case TAGS.status: {
      const [epoch, view, executed, stable, from, sig] = arr(f, 'status', 6);
      return { type: 'status', epoch: uint(epoch, 'status.epoch'), view: uint(view, 'status.view'), executed: uint(executed, 'status.executed'), stable: uint(stable, 'status.stable'), from: replicaId(from, 'status.from'), sig: signature(sig, 'status.sig') };
    }
    case TAGS.decision: {
      const [b, cert, from, sig] = arr(f, 'decision', 4);
      return { type: 'decision', batch: batch(b), cert: decisionCert(cert, 'decision.cert'), from: replicaId(from, 'decision.from'), sig: signature(sig, 'decision.sig') };
    }
    case TAGS.state: {
      const [links, cp, snap, from, sig] = arr(f, 'state', 5);
      return { type: 'state', links: arr(links, 'state.links', undefined, limits.maxEpochLinks).map(epochLink), checkpoint: checkpointCert(cp), snapshot: bytes(snap, 'state.snapshot', { max: limits.maxSnapshotBytes }), from: replicaId(from, 'state.from'), sig: signature(sig, 'state.sig') };
    }
    case TAGS['config-query']: {
      const [since] = arr(f, 'config-query', 1);
      return { type: 'config-query', since: uint(since, 'config-query.since') };
    }
    case TAGS['config-proof']: {
      const [links] = arr(f, 'config-proof', 1);
      return { type: 'config-proof', links: arr(links, 'config-proof.links', undefined, limits.maxLinksPerProof).map(epochLink) };
    }
    default:
      return fail(`unknown message type tag ${String(tag)}`);
  }
}

export type DecodeResult = { ok: true; message: Message } | { ok: false; reason: string };

/** Parses one frame. Never throws: every failure comes back as a named reason. */
export function decodeMessage(frame: Uint8Array): DecodeResult {
  if (frame.length > limits.maxFrameBytes) return { ok: false, reason: `frame of ${frame.length} bytes exceeds ${limits.maxFrameBytes}` };
  let raw: unknown;
  try {
    raw = decodeCbor(frame);
  } catch (e) {
    return { ok: false, reason: `malformed CBOR: ${(e as Error).message}` };
  }
  try {
    const message = fromWire(raw);
    if (!bytesEqual(encodeMessage(message), frame)) return { ok: false, reason: 'non-canonical encoding' };
    return { ok: true, message };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: e.reason };
    return { ok: false, reason: `malformed message: ${(e as Error).message}` };
  }
}
