/** Application layer: the deterministic state-machine interface and the replicated KV store. */
export type { StateMachine, StateMachineFactory } from '../core/state-machine.ts';
export type { KvCommand, KvCommandError, KvResult } from './kv-command.ts';
export {
  decodeKvCommand,
  decodeKvResult,
  describeKvCommand,
  describeKvResult,
  encodeKvCommand,
  encodeKvResult,
  KV_COMMAND_ERRORS,
  MALFORMED_RESULT,
  MAX_COMMAND_BYTES,
  MAX_ERROR_REASON_BYTES,
  MAX_KEY_BYTES,
  MAX_RESULT_BYTES,
  MAX_VALUE_BYTES,
} from './kv-command.ts';
export { KV_SNAPSHOT_FORMAT, KV_SNAPSHOT_VERSION, KvStore, kvStoreFactory, SnapshotError } from './kv-store.ts';
