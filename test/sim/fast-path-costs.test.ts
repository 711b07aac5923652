/**
 * What each path costs, counted by the simulator: decisions per path, message delays from PROPOSE
 * to decision, signatures, verifications, messages and bytes per committed slot. And the fast
 * path's behaviour with a silent replica: at n = 3f+1 the fast quorum is all n, so one silent
 * replica forces every slot onto the classic path (by fallback); at n = 6, f = 1 the fast path
 * tolerates t = 1 slow replica and stays fast.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolParams } from '../../src/core/config.ts';
import { runSweep, sweepOptions, type SweepSummary } from '../../src/sim/run.ts';

/** Calm network, no crashes: the steady state the fast path is built for. */
function calm(n: number, f: number, params: Partial<ProtocolParams>, silent: number[] = [], seeds = 10): SweepSummary {
  return runSweep(sweepOptions({ n, f, seed: 1, seeds, crash: false, networkFaults: false, silent, params }));
}

const decisions = (s: SweepSummary) => s.fastCommits + s.classicCommits;

describe('cost per decision, calm network, n=4', () => {
  const fast = calm(4, 1, { mode: 'fast', commitPolicy: 'deferred' });
  const concurrent = calm(4, 1, { mode: 'fast', commitPolicy: 'concurrent' });
  const classic = calm(4, 1, { mode: 'classic' });

  it('every schedule is safe and live on each path', () => {
    for (const s of [fast, concurrent, classic]) {
      expect(s.violations).toBe(0);
      expect(s.live).toBe(s.schedules);
      expect(s.completed).toBe(s.operations);
    }
  });

  it('fast/deferred: every decision is fast, two message delays after the PROPOSE, and no fallback', () => {
    expect(fast.classicCommits).toBe(0);
    expect(fast.fastCommits).toBe(4 * fast.committed);
    expect(fast.fastDecisionDelays).toBe(2);
    expect(fast.fallbacks).toBe(0);
  });

  it('classic: every decision takes three message delays', () => {
    expect(classic.fastCommits).toBe(0);
    expect(classic.classicCommits).toBe(4 * classic.committed);
    expect(classic.classicDecisionDelays).toBe(3);
  });

  it('concurrent: both certificates race; each path keeps its own delay count', () => {
    expect(concurrent.fastCommits).toBeGreaterThan(concurrent.classicCommits);
    expect(concurrent.classicCommits).toBeGreaterThan(0);
    expect(concurrent.fastDecisionDelays).toBe(2);
    expect(concurrent.classicDecisionDelays).toBe(3);
  });

  it('deferred saves the COMMIT round: about one signature per replica, and the checks of the prepare certificates a COMMIT rests on', () => {
    // The same workload commits the same slots, so per-slot figures compare directly.
    expect(fast.committed).toBe(classic.committed);
    const savedSigns = classic.signsPerCommit - fast.signsPerCommit;
    const savedVerifies = classic.verifiesPerCommit - fast.verifiesPerCommit;
    // n COMMIT signatures per slot; checkpoints and replies are equal. Votes come on their
    // authors' channels and are counted unchecked (channel-votes.ts), so COMMITs cost no checks
    // either way; what classic adds is checking each prepare certificate before the COMMIT that
    // rests on it: q−1 = 2 ACCEPT signatures at the leader, 1 at each backup (the leader's is the
    // PROPOSE it checked already) = 5 per slot, plus retransmissions.
    expect(savedSigns).toBeGreaterThan(3);
    expect(savedSigns).toBeLessThan(4.5);
    expect(savedVerifies).toBeGreaterThan(4.5);
    expect(savedVerifies).toBeLessThan(7.5);
    expect(fast.messagesPerCommit).toBeLessThan(classic.messagesPerCommit);
    expect(fast.bytesPerCommit).toBeLessThan(classic.bytesPerCommit);
  });

  it('concurrent signs as much as classic: it buys latency only', () => {
    expect(Math.abs(concurrent.signsPerCommit - classic.signsPerCommit)).toBeLessThan(0.5);
  });
});

describe('a silent replica (FAST-GRIEF-1)', () => {
  it('n=4: the fast quorum is all four, so every slot commits classically, after a logged fallback', () => {
    const s = calm(4, 1, { mode: 'fast', commitPolicy: 'deferred' }, [3]);
    expect(s.violations).toBe(0);
    expect(s.live).toBe(s.schedules);
    expect(s.completed).toBe(s.operations);
    expect(s.fastCommits).toBe(0);
    expect(s.classicCommits).toBe(3 * s.committed);
    expect(s.classicDecisionDelays).toBe(3);
    // Each of the three correct replicas falls back once per schedule (24 slots < 64 classic slots).
    expect(s.fallbacks).toBe(3 * s.schedules);
  });

  it('n=4 with crashes and a faulty network too: safe and live', () => {
    const s = runSweep(sweepOptions({ n: 4, f: 1, seed: 300, seeds: 20, silent: [2] }));
    expect(s.failedSeeds).toEqual([]);
    expect(s.notLiveSeeds).toEqual([]);
    expect(s.crashes).toBe(0); // the silent replica uses up f
  });

  it('n=6, f=1 (Qf=5, t=1): the fast path tolerates it and every slot stays fast', () => {
    const s = calm(6, 1, { mode: 'fast', commitPolicy: 'deferred' }, [5]);
    expect(s.violations).toBe(0);
    expect(s.live).toBe(s.schedules);
    expect(s.classicCommits).toBe(0);
    expect(s.fastCommits).toBe(5 * s.committed);
    expect(s.fastDecisionDelays).toBe(2);
    expect(s.fallbacks).toBe(0);
  });

  it('n=6, f=1 with the silent replica as the leader of view 0: a view change, then fast again', () => {
    const s = calm(6, 1, { mode: 'fast', commitPolicy: 'deferred' }, [0], 5);
    expect(s.violations).toBe(0);
    expect(s.live).toBe(s.schedules);
    expect(s.viewChanges).toBeGreaterThan(0);
    expect(s.fastCommits).toBeGreaterThan(s.classicCommits);
  });
});
