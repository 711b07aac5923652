/**
 * byzpax as a library. The protocol core is pure: build a `Replica`, feed it inputs with
 * `step()`, carry out its outputs (persist, then send). See README.md for the full tour.
 */
export { Replica, type ReplicaOptions } from './core/replica.ts';
export {
  defaultParams,
  leaderOf,
  quorums,
  validateConfig,
  validateQuorums,
  type ClusterConfig,
  type ProtocolParams,
  type Quorums,
  type ReplicaId,
  type ClientId,
} from './core/config.ts';
export type { Input, Outputs, PersistOp, ExecutedSlot, ProtocolEvent, Send, ClientReply } from './core/io.ts';
export { mustSyncBeforeSend, mayBeRelayed } from './core/io.ts';
export { SilentNode, type ProtocolNode, type StartedNode, type RawFrame } from './core/node.ts';
export { carryOut, stepNode, persistOf, release, memoryDisk, type Disk, type Network, type StepObserver, type DriverIO } from './core/driver.ts';
export { restartReplica, startHonestNode, HonestNode } from './core/restart.ts';
export type * from './core/messages.ts';
export { applyPersistOp, emptyDurableState, type DurableState } from './core/durable.ts';
export { selectValue, type SelectRule, type SlotReport, type Selection } from './core/select.ts';
export { Auth } from './core/auth.ts';
export { Statements, batchDigest } from './core/statements.ts';
export { describeMessage } from './core/describe.ts';
export { encodeMessage, decodeMessage, type DecodeResult } from './codec/wire.ts';
export { limits } from './codec/limits.ts';
export * from './crypto/index.ts';
export * from './app/index.ts';
export { ReplyQuorum, type ReplyVerdict } from './client/reply-quorum.ts';
export { checkOperations, kvModel, registerModel, type Operation, type Model } from './check/index.ts';
export { Simulation, defaultSimOptions, type SimOptions, type SimResult } from './sim/simulation.ts';
export { runSweep, sweepOptions, type SweepSummary } from './sim/run.ts';
export {
  runTwins,
  runTwinsScenario,
  enumerateTwinsScenarios,
  twinsScenario,
  twinsScenarioCount,
  twinsPartitions,
  twinsOptions,
  defaultTwinsOptions,
  spreadStride,
  type TwinsOptions,
  type TwinsScenario,
  type TwinsResult,
  type TwinsSummary,
} from './sim/twins.ts';
export { brokenSelectRules } from './sim/broken-select-rules.ts';

// The service: cluster files, the client, a replica process and its parts.
export { readClusterFile, writeClusterFile, parseCluster, ClusterFileError, type Cluster } from './cluster/cluster-file.ts';
export { readKeyFile, writeKeyFile, KeyFileError, type KeyFile } from './cluster/key-file.ts';
export { generateCluster, GenerateError, type GenerateOptions } from './cluster/generate.ts';
export { Client, ClientError, type ClientOptions, type Answer } from './client/client.ts';
export { HistoryRecorder, type KvOperation } from './client/history-recorder.ts';
export { ReplicaServer, type ReplicaServerOptions, type ReplicaStatus } from './server/replica-server.ts';
export { ReplicaProcesses, type ReplicaProcessesOptions } from './server/replica-processes.ts';
export { ReplicaTransport, type TransportLimits, type LinkFaults } from './net/replica-transport.ts';
export { ClientTransport } from './net/client-transport.ts';
export { openLmdbStorage, type Durability } from './storage/lmdb-storage.ts';
export { StorageError, type ReplicaStorage } from './storage/replica-storage.ts';

// Byzantine replicas on demand, and the live nemesis.
export { createByzantineNode, startByzantineNode, strategies, strategyNames, InMemoryCollusionHub, type StrategyName, type StrategyContext, type ByzantineNode, type CollusionHub } from './faults/registry.ts';
export { runNemesis, type NemesisOptions, type NemesisReport } from './faults/nemesis.ts';
