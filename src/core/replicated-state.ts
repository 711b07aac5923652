/**
 * Everything execution changes: the application, the client session table that gives
 * exactly-once semantics, and the membership (membership.ts). All are part of the checkpointed
 * state, because a replica that installs a snapshot must also know which requests it has already
 * executed, what it answered, and who the members are.
 *
 * A snapshot is `[version, membershipBytes, restBytes]` and its digest is
 * H(["byzpax/v1/state", H(membershipBytes), H(restBytes)]): a configuration proof (EpochLink) can
 * then show the membership at a checkpoint with its certificate, without the application state.
 */
import type { StateMachine } from './state-machine.ts';
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ClientId, ClusterConfig } from './config.ts';
import type { ClientRequest, Digest } from './messages.ts';
import { decodeSystemCommand, encodeChangeResult, isSystemOp, Membership } from './membership.ts';

export interface Session {
  /** Highest request number executed for this client. */
  ts: number;
  /** What that request returned, so a retransmission gets the same answer. */
  result: Uint8Array;
  /** The slot it executed in. */
  slot: number;
}

export type ExecuteOutcome =
  | { kind: 'applied'; result: Uint8Array }
  /** Already executed: the cached answer (`ts` equal) or nothing (`ts` older). */
  | { kind: 'duplicate'; session: Session };

const SNAPSHOT_VERSION = 2;

/** The digest a checkpoint certifies, from the hashes of a snapshot's two parts. */
export function stateDigestFromParts(membershipHash: Digest, restHash: Digest): Digest {
  return sha256(encodeCbor(['byzpax/v1/state', membershipHash, restHash]));
}

/** Splits a snapshot into its membership bytes and the rest; throws on a malformed one. */
export function splitSnapshot(snapshot: Uint8Array): { membership: Uint8Array; rest: Uint8Array } {
  const raw = decodeCbor(snapshot);
  if (!Array.isArray(raw) || raw.length !== 3 || raw[0] !== SNAPSHOT_VERSION) throw new Error('snapshot: bad header');
  const [, membership, rest] = raw as unknown[];
  if (!(membership instanceof Uint8Array) || !(rest instanceof Uint8Array)) throw new Error('snapshot: bad layout');
  return { membership, rest };
}

/** The certified digest of a snapshot, or undefined if it is malformed. */
export function stateDigestOf(snapshot: Uint8Array): Digest | undefined {
  try {
    const { membership, rest } = splitSnapshot(snapshot);
    return stateDigestFromParts(sha256(membership), sha256(rest));
  } catch {
    return undefined;
  }
}

export interface ExecutionContext {
  slot: number;
  window: number;
  checkpointInterval: number;
}

export class ReplicatedState {
  private readonly sessions = new Map<ClientId, Session>();
  membership: Membership;

  constructor(
    readonly app: StateMachine,
    private readonly genesis: ClusterConfig,
  ) {
    this.membership = new Membership(genesis);
  }

  session(clientId: ClientId): Session | undefined {
    return this.sessions.get(clientId);
  }

  execute(request: ClientRequest, ctx: ExecutionContext): ExecuteOutcome {
    const session = this.sessions.get(request.clientId);
    if (session && request.ts <= session.ts) return { kind: 'duplicate', session };
    const result = isSystemOp(request.op) ? this.executeSystem(request, ctx) : this.app.execute(request.op);
    this.sessions.set(request.clientId, { ts: request.ts, result, slot: ctx.slot });
    return { kind: 'applied', result };
  }

  /** Membership changes and configuration reads: decided by the core, never seen by the application. */
  private executeSystem(request: ClientRequest, ctx: ExecutionContext): Uint8Array {
    const command = decodeSystemCommand(request.op);
    if (typeof command === 'string') return encodeChangeResult({ ok: false, error: command });
    if (command.kind === 'read-config') return this.membership.encode();
    return encodeChangeResult(this.membership.apply(request.clientId, command.change, ctx.slot, ctx.window, ctx.checkpointInterval));
  }

  /** Canonical bytes: sessions sorted by client id, so every replica produces the same snapshot. */
  snapshot(): Uint8Array {
    const sessions = [...this.sessions.entries()].sort((a, b) => a[0] - b[0]).map(([id, s]) => [id, s.ts, s.slot, s.result]);
    return encodeCbor([SNAPSHOT_VERSION, this.membership.encode(), encodeCbor([this.app.snapshot(), sessions])]);
  }

  /** Replaces the whole state. Throws on malformed bytes; the caller checked the digest first. */
  restore(bytes: Uint8Array): void {
    const { membership: membershipBytes, rest } = splitSnapshot(bytes);
    const raw = decodeCbor(rest);
    if (!Array.isArray(raw) || raw.length !== 2) throw new Error('snapshot: bad header');
    const [appBytes, sessions] = raw as [unknown, unknown];
    if (!(appBytes instanceof Uint8Array) || !Array.isArray(sessions)) throw new Error('snapshot: bad layout');
    const membership = Membership.decode(membershipBytes, this.genesis.clusterId);
    const parsed = new Map<ClientId, Session>();
    for (const entry of sessions) {
      if (!Array.isArray(entry) || entry.length !== 4) throw new Error('snapshot: bad session');
      const [id, ts, slot, result] = entry as unknown[];
      if (!isUint(id) || !isUint(ts) || !isUint(slot) || !(result instanceof Uint8Array)) throw new Error('snapshot: bad session');
      parsed.set(id, { ts, slot, result: new Uint8Array(result) });
    }
    this.app.restore(new Uint8Array(appBytes));
    this.membership = membership;
    this.sessions.clear();
    for (const [id, s] of parsed) this.sessions.set(id, s);
  }

  digest(): Digest {
    return stateDigestOf(this.snapshot())!;
  }
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
