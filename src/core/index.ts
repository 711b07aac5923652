/**
 * `byzpax/core`: the protocol core, pure. Build a `Replica`, feed it inputs with `step()`, carry
 * out its outputs (persist, then send). No I/O: it loads no lmdb, ws or pino.
 */
export { Replica, type ReplicaOptions } from './replica.ts';
export type { ReplicaCounter } from './replica-state.ts';
export {
  defaultParams,
  leaderOf,
  quorums,
  validateConfig,
  validateParams,
  validateQuorums,
  type ClusterConfig,
  type ProtocolParams,
  type Quorums,
  type ReplicaId,
  type ClientId,
  type ReplicaInfo,
  type ClientInfo,
  type CommitPath,
  type CommitPolicy,
} from './config.ts';
export type { Input, Outputs, PersistOp, ExecutedSlot, ProtocolEvent, Send, ClientReply } from './io.ts';
export { mustSyncBeforeSend, mayBeRelayed } from './io.ts';
export { SilentNode, type ProtocolNode, type StartedNode, type RawFrame } from './node.ts';
export { carryOut, stepNode, persistOf, release, memoryDisk, type Disk, type Network, type StepObserver, type DriverIO } from './driver.ts';
export { restartReplica, startHonestNode, HonestNode } from './restart.ts';
export type * from './messages.ts';
export { applyPersistOp, emptyDurableState, type DurableState } from './durable.ts';
export { selectValue, type SelectRule, type SlotReport, type Selection } from './select.ts';
export { Auth } from './auth.ts';
export { Statements, batchDigest } from './statements.ts';
export { describeMessage } from './describe.ts';
export { signReplies, verifyReply, type ReplyContent } from './replies.ts';
export * from '../crypto/index.ts';
