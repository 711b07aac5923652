import { validateOperations, type Operation } from './history.ts';
import type { Model } from './model.ts';

/**
 * Linearizability checker: Wing & Gong's backtracking search with Lowe's
 * memoisation, as popularised by Porcupine, plus P-compositionality (check
 * each partition of the history on its own).
 */

export interface CheckOptions {
  /** Wall-clock budget for the whole call, all partitions together. */
  timeoutMs?: number;
  /** Search-step budget for the whole call, all partitions together. */
  maxSteps?: number;
}

export type CheckVerdict = 'ok' | 'illegal' | 'unknown';

export interface CheckResult {
  /** 'unknown' means the budget ran out before a verdict; it is never a pass. */
  result: CheckVerdict;
  /** Number of partitions the model split the history into. */
  partitions: number;
  /** Index (in the model's partition order) of a non-linearizable partition. */
  failedPartition?: number;
  /** Search steps taken across all partitions checked. */
  explored: number;
}

/** One call or return event in the doubly linked list the search walks. */
interface Entry {
  /** Index of the operation within its partition; doubles as its bit number. */
  readonly op: number;
  /** For a call entry, its return entry; null marks a return entry. */
  readonly match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/** Fixed-size bitset of linearised operations. */
class Bitset {
  private readonly words: Uint32Array;

  constructor(bits: number) {
    this.words = new Uint32Array(Math.ceil(bits / 32));
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }

  /**
   * Canonical string of the bits, two UTF-16 units per word. Every key of one
   * partition has the same length, so concatenating a state hash after it is
   * unambiguous without a separator.
   */
  key(): string {
    let s = '';
    for (const w of this.words) s += String.fromCharCode(w & 0xffff, w >>> 16);
    return s;
  }
}

/** Shared budget across partitions; checking the clock is costly, so it is sampled. */
class Budget {
  private readonly deadline: number;
  private stepsLeft: number;
  private untilClockCheck = 0;
  explored = 0;

  constructor(opts: CheckOptions) {
    this.deadline = opts.timeoutMs === undefined ? Infinity : performance.now() + opts.timeoutMs;
    this.stepsLeft = opts.maxSteps ?? Infinity;
  }

  /** Counts one step; false once the budget is spent. */
  take(): boolean {
    this.explored++;
    if (--this.stepsLeft < 0) return false;
    if (--this.untilClockCheck <= 0) {
      this.untilClockCheck = 1024;
      if (performance.now() > this.deadline) return false;
    }
    return true;
  }
}

/**
 * Builds the call/return list behind a sentinel head. At equal timestamps calls
 * sort before returns, so operations touching at an instant count as concurrent
 * (A precedes B only if A.return < B.call).
 */
function buildList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const events: { time: number; isCall: boolean; entry: Entry }[] = [];
  ops.forEach((op, i) => {
    const ret: Entry = { op: i, match: null, prev: null, next: null };
    const call: Entry = { op: i, match: ret, prev: null, next: null };
    events.push({ time: op.call, isCall: true, entry: call }, { time: op.return, isCall: false, entry: ret });
  });
  events.sort(
    (a, b) => a.time - b.time || (a.isCall === b.isCall ? a.entry.op - b.entry.op : a.isCall ? -1 : 1),
  );
  const head: Entry = { op: -1, match: null, prev: null, next: null };
  let tail = head;
  for (const { entry } of events) {
    entry.prev = tail;
    tail.next = entry;
    tail = entry;
  }
  return head;
}

function unlink(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

/** Removes a call and its return from the list: the operation is linearised. */
function lift(call: Entry): void {
  unlink(call);
  unlink(call.match!);
}

/** Exact inverse of lift (dancing links: restore in reverse order). */
function unlift(call: Entry): void {
  relink(call.match!);
  relink(call);
}

/**
 * Searches for a linearisation of one partition. Invariant: the list holds
 * exactly the operations not yet linearised, in time order, so an operation
 * may be linearised next iff its call appears before the first return entry
 * (no pending operation returned before it was called).
 */
function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: Budget,
): 'ok' | 'illegal' | 'unknown' {
  const head = buildList(ops);
  const linearised = new Bitset(ops.length);
  // (linearised set, state) pairs already reached. Reaching one again cannot
  // lead anywhere new: the remaining search depends on nothing else.
  const seen = new Set<string>();
  const calls: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;

  while (entry !== null) {
    if (!budget.take()) return 'unknown';
    const ret = entry.match;
    if (ret !== null) {
      const op = ops[entry.op]!;
      const next = model.step(state, op.input, op.output);
      if (next.ok) {
        linearised.set(entry.op);
        const key = linearised.key() + model.hash(next.state);
        if (!seen.has(key)) {
          seen.add(key);
          calls.push({ entry, state });
          state = next.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearised.clear(entry.op);
      }
      entry = entry.next;
    } else {
      // A return entry: its operation had to be linearised by now but could
      // not be, so undo the most recent choice and try the next candidate.
      const top = calls.pop();
      if (top === undefined) return 'illegal';
      state = top.state;
      linearised.clear(top.entry.op);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return 'ok';
}

/**
 * Decides whether `ops` is linearizable with respect to `model`.
 *
 * Partitions (from `model.partition`, if any) are checked smallest first so a
 * cheap violation is found before the budget is sunk into a hard partition.
 * An exhausted budget yields 'unknown' unless some partition is already known
 * to be illegal.
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  opts: CheckOptions = {},
): CheckResult {
  validateOperations(ops);
  const parts = model.partition ? model.partition(ops) : [ops];
  const budget = new Budget(opts);
  const order = parts.map((_, i) => i).sort((a, b) => parts[a]!.length - parts[b]!.length || a - b);
  for (const i of order) {
    const verdict = checkPartition(model, parts[i]!, budget);
    if (verdict === 'illegal') {
      return { result: 'illegal', partitions: parts.length, failedPartition: i, explored: budget.explored };
    }
    if (verdict === 'unknown') {
      return { result: 'unknown', partitions: parts.length, explored: budget.explored };
    }
  }
  return { result: 'ok', partitions: parts.length, explored: budget.explored };
}
