/**
 * `byzpax`: what a service user needs — the client, cluster and key files, and generating a
 * cluster's keys. Loads ws and the crypto/codec code the client shares with the replicas; not
 * lmdb, not pino (nor the replica, simulator or fault code).
 *
 * The other entry points (see the README's table): `byzpax/core` (the pure replica),
 * `byzpax/server` (a replica process: transport and lmdb storage), `byzpax/sim`,
 * `byzpax/faults`, `byzpax/app`, `byzpax/check`, `byzpax/codec`, `byzpax/crypto`.
 */
export { Client, ClientError, type ClientOptions, type Answer } from './client/client.ts';
export { ReplyQuorum, type ReplyVerdict } from './client/reply-quorum.ts';
export { HistoryRecorder, type KvOperation } from './check/history-recorder.ts';
export {
  readClusterFile,
  writeClusterFile,
  parseCluster,
  clusterToJson,
  ClusterFileError,
  CLUSTER_FORMAT,
  type Cluster,
  type ClusterFileJson,
} from './cluster/cluster-file.ts';
export { readKeyFile, writeKeyFile, KeyFileError, KEY_FORMAT, type KeyFile, type KeyRole } from './cluster/key-file.ts';
export {
  generateCluster,
  GenerateError,
  clusterFileIn,
  replicaKeyIn,
  clientKeyIn,
  type GenerateOptions,
  type Generated,
} from './cluster/generate.ts';
export { freePortRange } from './cluster/free-ports.ts';
// Shared by many clients of one application (Client.connect({ …, verifier })).
export { SignatureVerifier, type SignatureVerifierOptions } from './crypto/verifier.ts';
export type { KvCommand, KvResult } from './app/kv-command.ts';
export type { ClusterConfig, ProtocolParams, ReplicaId, ClientId } from './core/config.ts';
