/**
 * Membership as replicated state: the configuration of the current epoch, a change waiting for
 * its boundary, and the commands that make one.
 *
 * A change is a command like any other: ordered through the log, signed by an admin key of the
 * configuration it changes, and validated deterministically when it executes. A valid change
 * executed at slot s does not take effect at once: it is scheduled for the *boundary*
 *
 *     B = the first checkpoint (a multiple of K) at or above s + W        (W = the window)
 *
 * Slots up to B belong to the old epoch, slots above B to the new one, and every replica computes
 * B the same way. Why s + W: a correct replica votes on slot t only inside its window,
 * t ≤ h + W, where h ≤ executed is its stable checkpoint. If it has not executed s, then h < s and
 * t < s + W ≤ B: it never votes on a slot of the new epoch without knowing the epoch changed. And
 * the window stops at a pending boundary (ReplicaState.highWatermark), so no correct replica votes
 * above B before B's checkpoint is stable — the new epoch starts from a certified state, and the
 * old epoch's quorums certify exactly the slots up to B.
 *
 * One change at a time: a change that executes while another waits for its boundary is refused
 * with an error (and changes nothing); the admin retries once the first has taken effect.
 */
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../crypto/bytes.ts';
import { epochOf, validateConfig, type ClientInfo, type ClusterConfig, type ReplicaId, type ReplicaInfo } from './config.ts';
import type { Digest } from './messages.ts';

/** A configuration and the slot after which it governs (0 for genesis: it governs from slot 1). */
export interface EpochConfig {
  config: ClusterConfig;
  /** The boundary B: this epoch's slots start at B + 1. */
  activatedAt: number;
}

export type MemberSpec = { id: ReplicaId; publicKey: Uint8Array; address: string };

/** What an admin can ask for. */
export type MembershipChange =
  | { kind: 'add'; member: MemberSpec }
  | { kind: 'remove'; id: ReplicaId }
  /** Remove one member and add another in one step: the fault budget never shrinks in between. */
  | { kind: 'replace'; id: ReplicaId; member: MemberSpec }
  | { kind: 'rotate-key'; id: ReplicaId; publicKey: Uint8Array }
  | { kind: 'set-f'; f: number }
  | { kind: 'add-client'; client: ClientInfo }
  | { kind: 'remove-client'; id: number };

/** A system command: a change (admins only), or reading the configuration (anyone). */
export type SystemCommand = { kind: 'change'; change: MembershipChange } | { kind: 'read-config' };

/**
 * Ops whose first byte is 0xff are the system's, never the application's: 0xff cannot begin a
 * CBOR item (it is the "break" code), so no CBOR-encoded application op collides with them.
 */
export const SYSTEM_OP_PREFIX = 0xff;

export const isSystemOp = (op: Uint8Array): boolean => op.length > 0 && op[0] === SYSTEM_OP_PREFIX;

export function encodeSystemCommand(c: SystemCommand): Uint8Array {
  const body = encodeCbor(c.kind === 'read-config' ? ['read-config'] : changeToWire(c.change));
  const op = new Uint8Array(body.length + 1);
  op[0] = SYSTEM_OP_PREFIX;
  op.set(body, 1);
  return op;
}

function changeToWire(c: MembershipChange): unknown[] {
  switch (c.kind) {
    case 'add':
      return ['add', memberToWire(c.member)];
    case 'remove':
      return ['remove', c.id];
    case 'replace':
      return ['replace', c.id, memberToWire(c.member)];
    case 'rotate-key':
      return ['rotate-key', c.id, c.publicKey];
    case 'set-f':
      return ['set-f', c.f];
    case 'add-client':
      return ['add-client', c.client.id, c.client.publicKey];
    case 'remove-client':
      return ['remove-client', c.id];
  }
}

const memberToWire = (m: MemberSpec) => [m.id, m.publicKey, m.address];

/** Parses a system op; a string says why it is malformed. Pure and total (never throws). */
export function decodeSystemCommand(op: Uint8Array): SystemCommand | string {
  if (!isSystemOp(op)) return 'not a system command';
  let raw: unknown;
  try {
    raw = decodeCbor(op.subarray(1));
  } catch {
    return 'system command: malformed CBOR';
  }
  if (!Array.isArray(raw) || typeof raw[0] !== 'string') return 'system command: not [kind, ...]';
  const [kind, ...a] = raw as [string, ...unknown[]];
  const uint = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  const key = (x: unknown) => x instanceof Uint8Array && x.length === 32;
  const member = (x: unknown): MemberSpec | undefined => {
    if (!Array.isArray(x) || x.length !== 3) return undefined;
    const [id, publicKey, address] = x as unknown[];
    if (!uint(id) || !key(publicKey) || typeof address !== 'string' || address.length > 256) return undefined;
    return { id: id as number, publicKey: new Uint8Array(publicKey as Uint8Array), address };
  };
  const arity = (n: number) => a.length === n;
  switch (kind) {
    case 'read-config':
      return arity(0) ? { kind: 'read-config' } : 'read-config takes no arguments';
    case 'add': {
      const m = arity(1) ? member(a[0]) : undefined;
      return m ? { kind: 'change', change: { kind: 'add', member: m } } : 'add: expects [id, publicKey, address]';
    }
    case 'remove':
      return arity(1) && uint(a[0]) ? { kind: 'change', change: { kind: 'remove', id: a[0] as number } } : 'remove: expects a replica id';
    case 'replace': {
      const m = arity(2) && uint(a[0]) ? member(a[1]) : undefined;
      return m ? { kind: 'change', change: { kind: 'replace', id: a[0] as number, member: m } } : 'replace: expects an id and [id, publicKey, address]';
    }
    case 'rotate-key':
      return arity(2) && uint(a[0]) && key(a[1]) ? { kind: 'change', change: { kind: 'rotate-key', id: a[0] as number, publicKey: new Uint8Array(a[1] as Uint8Array) } } : 'rotate-key: expects an id and a 32-byte key';
    case 'set-f':
      return arity(1) && uint(a[0]) ? { kind: 'change', change: { kind: 'set-f', f: a[0] as number } } : 'set-f: expects an integer';
    case 'add-client':
      return arity(2) && uint(a[0]) && key(a[1]) ? { kind: 'change', change: { kind: 'add-client', client: { id: a[0] as number, publicKey: new Uint8Array(a[1] as Uint8Array) } } } : 'add-client: expects an id and a 32-byte key';
    case 'remove-client':
      return arity(1) && uint(a[0]) ? { kind: 'change', change: { kind: 'remove-client', id: a[0] as number } } : 'remove-client: expects a client id';
    default:
      return `unknown system command ${JSON.stringify(kind).slice(0, 40)}`;
  }
}

/** What a change's reply says. Deterministic: every correct replica returns the same bytes. */
export type ChangeResult = { ok: true; epoch: number; activatesAfter: number } | { ok: false; error: string };

export function encodeChangeResult(r: ChangeResult): Uint8Array {
  return encodeCbor(r.ok ? ['ok', r.epoch, r.activatesAfter] : ['error', r.error]);
}

export function decodeChangeResult(bytes: Uint8Array): ChangeResult | undefined {
  try {
    const raw = decodeCbor(bytes) as unknown[];
    if (Array.isArray(raw) && raw[0] === 'ok' && typeof raw[1] === 'number' && typeof raw[2] === 'number') return { ok: true, epoch: raw[1], activatesAfter: raw[2] };
    if (Array.isArray(raw) && raw[0] === 'error' && typeof raw[1] === 'string') return { ok: false, error: raw[1] };
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * The membership part of the replicated state. `current` governs the slots being executed; `next`
 * is a change waiting for its boundary; `nextFreeId` makes sure no replica id is used twice.
 */
export class Membership {
  current: EpochConfig;
  next: EpochConfig | undefined;
  nextFreeId: number;

  constructor(genesis: ClusterConfig) {
    this.current = { config: genesis, activatedAt: 0 };
    this.next = undefined;
    this.nextFreeId = Math.max(-1, ...genesis.replicas.map((r) => r.id)) + 1;
  }

  /**
   * Executes an admin's change at `slot`. `window` and `interval` are the protocol's W and K.
   * A refused change changes nothing and says why.
   */
  apply(adminId: number, change: MembershipChange, slot: number, window: number, interval: number): ChangeResult {
    const cur = this.current.config;
    if (!(cur.admins ?? []).some((a) => a.id === adminId)) return { ok: false, error: `client ${adminId} is not an admin of epoch ${epochOf(cur)}` };
    if (this.next) return { ok: false, error: `a change to epoch ${epochOf(this.next.config)} is pending until slot ${this.next.activatedAt}; retry after it takes effect` };
    const made = changed(cur, change, this.nextFreeId);
    if (typeof made === 'string') return { ok: false, error: made };
    const config = { ...made, epoch: epochOf(cur) + 1 };
    try {
      validateConfig(config);
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
    const activatedAt = Math.ceil((slot + window) / interval) * interval;
    this.next = { config, activatedAt };
    for (const r of config.replicas) this.nextFreeId = Math.max(this.nextFreeId, r.id + 1);
    return { ok: true, epoch: epochOf(config), activatesAfter: activatedAt };
  }

  /** After executing `slot`: at the boundary the pending configuration becomes current. */
  afterSlot(slot: number): boolean {
    if (!this.next || this.next.activatedAt !== slot) return false;
    this.current = this.next;
    this.next = undefined;
    return true;
  }

  /** Canonical bytes (keys, ids, addresses, f, boundary): the part of a snapshot a configuration proof opens. */
  encode(): Uint8Array {
    return encodeCbor([epochToWire(this.current), this.next ? epochToWire(this.next) : null, this.nextFreeId]);
  }

  static decode(bytes: Uint8Array, clusterId: string): Membership {
    const raw = decodeCbor(bytes);
    if (!Array.isArray(raw) || raw.length !== 3) throw new Error('membership: bad layout');
    const [cur, next, nextFreeId] = raw as unknown[];
    const current = epochFromWire(cur, clusterId);
    const m = new Membership(current.config);
    m.current = current;
    m.next = next === null ? undefined : epochFromWire(next, clusterId);
    if (typeof nextFreeId !== 'number' || !Number.isSafeInteger(nextFreeId) || nextFreeId < 0) throw new Error('membership: bad next id');
    m.nextFreeId = nextFreeId;
    return m;
  }
}

function changed(cur: ClusterConfig, change: MembershipChange, nextFreeId: number): Omit<ClusterConfig, 'epoch'> | string {
  const replicas = [...cur.replicas];
  const clients = [...cur.clients];
  const admins = cur.admins ?? [];
  let f = cur.f;
  /** Where member `id` is in the list, or why the change cannot name it. */
  const memberIndex = (id: number): number | string => {
    const i = replicas.findIndex((r) => r.id === id);
    return i >= 0 ? i : `replica ${id} is not a member of epoch ${epochOf(cur)}`;
  };
  const fresh = (m: MemberSpec): ReplicaInfo | string => {
    if (m.id < nextFreeId) return `replica id ${m.id} was used before; the next free id is ${nextFreeId}`;
    const hex = toHex(m.publicKey);
    if (replicas.some((r) => toHex(r.publicKey) === hex)) return `public key ${hex.slice(0, 16)}… already belongs to a member`;
    return { id: m.id, publicKey: m.publicKey, address: m.address };
  };
  switch (change.kind) {
    case 'add': {
      const r = fresh(change.member);
      if (typeof r === 'string') return r;
      replicas.push(r);
      break;
    }
    case 'remove': {
      const i = memberIndex(change.id);
      if (typeof i === 'string') return i;
      replicas.splice(i, 1);
      break;
    }
    case 'replace': {
      const i = memberIndex(change.id);
      if (typeof i === 'string') return i;
      replicas.splice(i, 1);
      const r = fresh(change.member);
      if (typeof r === 'string') return r;
      replicas.push(r);
      break;
    }
    case 'rotate-key': {
      const i = memberIndex(change.id);
      if (typeof i === 'string') return i;
      const hex = toHex(change.publicKey);
      if (cur.replicas.some((r) => toHex(r.publicKey) === hex)) return `public key ${hex.slice(0, 16)}… already belongs to a member`;
      replicas[i] = { ...replicas[i]!, publicKey: change.publicKey };
      break;
    }
    case 'set-f':
      f = change.f;
      break;
    case 'add-client':
      if (clients.some((c) => c.id === change.client.id) || admins.some((a) => a.id === change.client.id)) return `client id ${change.client.id} is taken`;
      clients.push(change.client);
      clients.sort((a, b) => a.id - b.id);
      break;
    case 'remove-client': {
      const i = clients.findIndex((c) => c.id === change.id);
      if (i < 0) return `client ${change.id} is not a client of epoch ${epochOf(cur)}`;
      clients.splice(i, 1);
      break;
    }
  }
  replicas.sort((a, b) => a.id - b.id);
  return { clusterId: cur.clusterId, n: replicas.length, f, replicas, clients, admins };
}

function epochToWire(e: EpochConfig): unknown[] {
  const c = e.config;
  return [
    epochOf(c),
    e.activatedAt,
    c.f,
    c.replicas.map((r) => [r.id, r.publicKey, r.address ?? '']),
    c.clients.map((k) => [k.id, k.publicKey]),
    (c.admins ?? []).map((k) => [k.id, k.publicKey]),
  ];
}

function epochFromWire(x: unknown, clusterId: string): EpochConfig {
  if (!Array.isArray(x) || x.length !== 6) throw new Error('membership: bad epoch');
  const [epoch, activatedAt, f, replicas, clients, admins] = x as unknown[];
  const uint = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`membership: bad ${what}`);
    return v;
  };
  const list = (v: unknown, what: string): unknown[][] => {
    if (!Array.isArray(v) || v.length > 1024 || !v.every(Array.isArray)) throw new Error(`membership: bad ${what}`);
    return v as unknown[][];
  };
  const key = (v: unknown): Uint8Array => {
    if (!(v instanceof Uint8Array) || v.length !== 32) throw new Error('membership: bad key');
    return new Uint8Array(v);
  };
  const reps = list(replicas, 'replicas').map(([id, k, address]) => {
    if (typeof address !== 'string') throw new Error('membership: bad address');
    return { id: uint(id, 'replica id'), publicKey: key(k), address };
  });
  const config: ClusterConfig = {
    clusterId,
    epoch: uint(epoch, 'epoch'),
    n: reps.length,
    f: uint(f, 'f'),
    replicas: reps,
    clients: list(clients, 'clients').map(([id, k]) => ({ id: uint(id, 'client id'), publicKey: key(k) })),
    admins: list(admins, 'admins').map(([id, k]) => ({ id: uint(id, 'admin id'), publicKey: key(k) })),
  };
  validateConfig(config);
  return { config, activatedAt: uint(activatedAt, 'boundary') };
}

/** The digest a configuration proof checks: a hash of the canonical membership bytes. */
export const membershipDigest = (bytes: Uint8Array): Digest => sha256(bytes);
