/**
 * How a simulated run ends, the same for the simulator and Twins once the faults have stopped:
 * run until every client is done (or the liveness bound), let stragglers catch up, compare the
 * correct replicas' states, and check the clients' history for linearizability.
 */
import type { Operation } from '../check/history.ts';
import { kvModel, type KvInput, type KvOutput } from '../check/kv-model.ts';
import { checkOperations, type CheckOptions, type CheckVerdict } from '../check/linearizability.ts';
import type { SafetyChecker } from './checker.ts';
import type { SimClient } from './sim-client.ts';

/** What every simulated run reports, the simulator's and Twins' alike. */
export interface RunOutcome {
  violations: string[];
  /** Every client request completed within the liveness bound once the faults stopped. */
  live: boolean;
  linearizable: CheckVerdict;
  /** Highest slot executed by a correct replica. */
  committed: number;
  operations: number;
  completed: number;
  ticks: number;
}

export interface EndOfRun {
  /** Advances the run by one healed tick. */
  tick(): void;
  now(): number;
  /** Whatever must finish for the run to be live: clients, and the admin's membership plan. */
  clients: readonly { finished: boolean; done: number; opts: { id: number; operations: number } }[];
  history: Operation<KvInput, KvOutput>[];
  checker: SafetyChecker;
  /** The correct replicas' executed slot and state digest, read after the stragglers' ticks. */
  states(): { replica: number; executed: number; digest: Uint8Array }[];
  trace(line: string): void;
}

export interface EndOfRunOptions {
  livenessTicks: number;
  /** Ticks after the clients are done, so that state digests can be compared at equal slots. */
  stragglerTicks: number;
  linearizability: CheckOptions;
}

export function finishRun(run: EndOfRun, o: EndOfRunOptions): { live: boolean; linearizable: CheckVerdict } {
  const stopped = () => run.checker.violations.length > 0;
  const clientsDone = () => run.clients.every((c) => c.finished);
  const deadline = run.now() + o.livenessTicks;
  while (!clientsDone() && run.now() < deadline && !stopped()) run.tick();
  const live = clientsDone();
  for (let i = 0; i < o.stragglerTicks && !stopped(); i++) run.tick();

  run.checker.compareStates(run.states());
  const lin = checkOperations(kvModel, run.history, o.linearizability);
  if (lin.result === 'illegal') run.checker.report('S10: the client history is not linearizable');
  if (!live) run.trace(`NOT LIVE: ${run.clients.filter((c) => !c.finished).map((c) => `client ${c.opts.id} at ${c.done}/${c.opts.operations}`).join(', ')}`);
  return { live, linearizable: lin.result };
}
