/**
 * Who may connect: the part of a cluster configuration the transport needs — the cluster's id
 * (bound into every handshake), the public keys and addresses of its replicas, and the keys of its
 * clients and admins. The core's `ClusterConfig` has this shape, so callers pass it as it is; net
 * itself knows nothing of the protocol above it.
 */
import { bytesEqual } from '../crypto/bytes.ts';

export interface NetMembers {
  clusterId: string;
  replicas: readonly { id: number; publicKey: Uint8Array; address?: string }[];
  clients: readonly { id: number; publicKey: Uint8Array }[];
  /** Admins connect like clients (they submit membership changes as requests). */
  admins?: readonly { id: number; publicKey: Uint8Array }[];
}

/**
 * The peers a transport knows now: the union of one or more configurations. While a membership
 * change is pending, a replica knows two (the current epoch and the next), so a joining member can
 * connect before its epoch begins and a member rotating its key is let in under either key.
 * Transports hold one directory and look keys up in it at each handshake, so `update` takes
 * effect for every connection made after it.
 */
export class PeerDirectory {
  readonly clusterId: string;
  private replicaKeys = new Map<number, Uint8Array[]>();
  private clientKeys = new Map<number, Uint8Array[]>();
  private addresses = new Map<number, string>();

  constructor(members: NetMembers | readonly NetMembers[]) {
    const list = Array.isArray(members) ? (members as readonly NetMembers[]) : [members as NetMembers];
    if (list.length === 0) throw new Error('a peer directory needs at least one configuration');
    this.clusterId = list[0]!.clusterId;
    this.update(list);
  }

  static of(m: NetMembers | PeerDirectory): PeerDirectory {
    return m instanceof PeerDirectory ? m : new PeerDirectory(m);
  }

  /** Replaces what the directory knows with the union of `configs` (later ones win on addresses). */
  update(configs: readonly NetMembers[]): void {
    const replicaKeys = new Map<number, Uint8Array[]>();
    const clientKeys = new Map<number, Uint8Array[]>();
    const addresses = new Map<number, string>();
    const add = (map: Map<number, Uint8Array[]>, id: number, key: Uint8Array) => {
      const keys = map.get(id) ?? [];
      if (!keys.some((k) => bytesEqual(k, key))) keys.push(key);
      map.set(id, keys);
    };
    for (const c of configs) {
      if (c.clusterId !== this.clusterId) throw new Error(`configuration of cluster ${c.clusterId} in a directory of ${this.clusterId}`);
      for (const r of c.replicas) {
        add(replicaKeys, r.id, r.publicKey);
        if (r.address) addresses.set(r.id, r.address);
      }
      for (const k of [...c.clients, ...(c.admins ?? [])]) add(clientKeys, k.id, k.publicKey);
    }
    this.replicaKeys = replicaKeys;
    this.clientKeys = clientKeys;
    this.addresses = addresses;
  }

  /** The keys replica `id` may prove itself with (two while its key rotation is pending). */
  keysOfReplica(id: number): readonly Uint8Array[] {
    return this.replicaKeys.get(id) ?? [];
  }

  keysOfClient(id: number): readonly Uint8Array[] {
    return this.clientKeys.get(id) ?? [];
  }

  hasClient(id: number): boolean {
    return this.clientKeys.has(id);
  }

  /** Every known replica id, sorted. */
  replicaIds(): number[] {
    return [...this.replicaKeys.keys()].sort((a, b) => a - b);
  }

  /** Where replica `id` listens, if its configuration says. */
  addressOf(id: number): string | undefined {
    return this.addresses.get(id);
  }
}
