/**
 * Records what clients saw, as a concurrent history the linearizability checker (src/check) can
 * judge: each operation's input, its agreed answer, and when it was invoked and answered on one
 * clock shared by every client of the process. An operation that failed without an answer (a
 * timeout: it may or may not have taken effect) is recorded as Jepsen's `:info` — unknown output,
 * returned at +Infinity — never as a failure, which would wrongly claim it had no effect.
 */
import type { KvCommand, KvResult } from '../app/kv-command.ts';
import type { Operation } from './history.ts';
import type { KvInput, KvOutput } from './kv-model.ts';

export type KvOperation = Operation<KvInput, KvOutput>;

/** What the recorder needs of a client (src/client's Client has this shape): check sits below it. */
export interface RecordableClient<A extends RecordedAnswer = RecordedAnswer> {
  readonly id: number;
  execute(command: KvCommand): Promise<A>;
}

export interface RecordedAnswer {
  result: KvResult;
  latencyMs: number;
}

export class HistoryRecorder {
  readonly operations: KvOperation[] = [];
  /** Latency of every answered operation (ms). */
  readonly latencies: number[] = [];
  private readonly t0 = performance.now();

  /** Runs `command` on `client`, records it, and returns the answer (undefined if it failed). */
  async run<A extends RecordedAnswer>(client: RecordableClient<A>, command: KvCommand): Promise<A | undefined> {
    const op: KvOperation = { clientId: client.id, input: command, output: undefined, call: this.now(), return: Infinity };
    this.operations.push(op);
    try {
      const answer = await client.execute(command);
      const r = answer.result;
      if ('error' in r) throw new Error(`replicas rejected ${command.op} ${command.key}: ${r.error}`);
      op.output = 'ok' in r ? { ok: r.ok, value: r.value } : { value: r.value };
      op.return = this.now();
      this.latencies.push(answer.latencyMs);
      return answer;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('replicas rejected')) throw e;
      return undefined; // unknown outcome: stays pending (:info)
    }
  }

  /** Operations that got an agreed answer. */
  get answered(): number {
    return this.operations.filter((o) => o.output !== undefined).length;
  }

  private now(): number {
    return performance.now() - this.t0;
  }
}
