/**
 * Everything execution changes: the application plus the client session table that gives
 * exactly-once semantics. Both are part of the checkpointed state, because a replica that
 * installs a snapshot must also know which requests it has already executed and what it answered.
 */
import type { StateMachine } from './state-machine.ts';
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ClientId } from './config.ts';
import type { ClientRequest, Digest } from './messages.ts';

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

const SNAPSHOT_VERSION = 1;

export class ReplicatedState {
  private readonly sessions = new Map<ClientId, Session>();

  constructor(readonly app: StateMachine) {}

  session(clientId: ClientId): Session | undefined {
    return this.sessions.get(clientId);
  }

  execute(request: ClientRequest, slot: number): ExecuteOutcome {
    const session = this.sessions.get(request.clientId);
    if (session && request.ts <= session.ts) return { kind: 'duplicate', session };
    const result = this.app.execute(request.op);
    this.sessions.set(request.clientId, { ts: request.ts, result, slot });
    return { kind: 'applied', result };
  }

  /** Canonical bytes: sessions sorted by client id, so every replica produces the same snapshot. */
  snapshot(): Uint8Array {
    const sessions = [...this.sessions.entries()].sort((a, b) => a[0] - b[0]).map(([id, s]) => [id, s.ts, s.slot, s.result]);
    return encodeCbor([SNAPSHOT_VERSION, this.app.snapshot(), sessions]);
  }

  /** Replaces the whole state. Throws on malformed bytes; the caller checked the digest first. */
  restore(bytes: Uint8Array): void {
    const raw = decodeCbor(bytes);
    if (!Array.isArray(raw) || raw.length !== 3 || raw[0] !== SNAPSHOT_VERSION) throw new Error('snapshot: bad header');
    const [, appBytes, sessions] = raw as [number, unknown, unknown];
    if (!(appBytes instanceof Uint8Array) || !Array.isArray(sessions)) throw new Error('snapshot: bad layout');
    const parsed = new Map<ClientId, Session>();
    for (const entry of sessions) {
      if (!Array.isArray(entry) || entry.length !== 4) throw new Error('snapshot: bad session');
      const [id, ts, slot, result] = entry as unknown[];
      if (!isUint(id) || !isUint(ts) || !isUint(slot) || !(result instanceof Uint8Array)) throw new Error('snapshot: bad session');
      parsed.set(id, { ts, slot, result: new Uint8Array(result) });
    }
    this.app.restore(new Uint8Array(appBytes));
    this.sessions.clear();
    for (const [id, s] of parsed) this.sessions.set(id, s);
  }

  digest(): Digest {
    return sha256(this.snapshot());
  }
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
