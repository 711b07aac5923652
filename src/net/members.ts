/**
 * Who may connect: the part of a cluster configuration the transport needs — the cluster's id
 * (bound into every handshake) and the public keys of its replicas and clients. The core's
 * `ClusterConfig` has this shape, so callers pass it as it is; net itself knows nothing of the
 * protocol above it.
 */
export interface NetMembers {
  clusterId: string;
  n: number;
  replicas: readonly { id: number; publicKey: Uint8Array }[];
  clients: readonly { id: number; publicKey: Uint8Array }[];
}
