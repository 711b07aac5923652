/**
 * `byzpax/server`: a replica as a process — `ReplicaServer` (the core with a WebSocket transport
 * and lmdb storage), `ReplicaProcesses` (a cluster of `byzpax replica` child processes), the
 * transport and the storage. Loads lmdb (a native module), ws and pino.
 */
export { ReplicaServer, type ReplicaServerOptions, type ReplicaStatus } from './replica-server.ts';
export { ReplicaProcesses, type ReplicaProcessesOptions, type ReplicaControl } from './replica-processes.ts';
export { realTimeParams } from './real-time-params.ts';
export * from '../net/index.ts';
export { openLmdbStorage, type Durability, type StorageIdentity } from '../storage/lmdb-storage.ts';
export { StorageError, type ReplicaStorage } from '../storage/replica-storage.ts';
