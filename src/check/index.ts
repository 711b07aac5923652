export { formatHistory, isPending, validateOperations, type Operation } from './history.ts';
export type { Model } from './model.ts';
export {
  checkOperations,
  type CheckOptions,
  type CheckResult,
  type CheckVerdict,
} from './linearizability.ts';
// Test oracle only: exponential, for histories of a handful of operations.
export { bruteForceLinearizable } from './brute-force.ts';
export {
  registerModel,
  type RegisterCasOutput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterReadOutput,
  type RegisterState,
  type RegisterWriteOutput,
} from './register-model.ts';
export { parseJepsenLog } from './jepsen-history.ts';
export {
  kvModel,
  type KvCasOutput,
  type KvInput,
  type KvOutput,
  type KvState,
  type KvValueOutput,
} from './kv-model.ts';
export { HistoryRecorder, type KvOperation, type RecordableClient, type RecordedAnswer } from './history-recorder.ts';
