/**
 * Quorum arithmetic (protocol brief §2.1): the closed formulas of `quorums(n, f)` over a wide
 * grid of (n, f), the brief's table rows, the start-up assertions of `validateQuorums` /
 * `validateConfig`, and — by brute force over every pair of member sets for small n — that the
 * intersection properties the safety argument needs really hold for sets, not just for the
 * arithmetic. Also: q and Qf are the smallest values that work (one less breaks a condition),
 * which at n = 3f+1 is why the fast quorum must be all n.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quorums, validateConfig, validateQuorums, type ClusterConfig } from '../../src/core/config.ts';

const ceilDiv2 = (x: number) => Math.ceil(x / 2);

/** Every (n, f) with f in 0..20 and n in 3f+1..3f+40. */
function grid(): [number, number][] {
  const out: [number, number][] = [];
  for (let f = 0; f <= 20; f++) for (let n = 3 * f + 1; n <= 3 * f + 40; n++) out.push([n, f]);
  return out;
}

describe('quorums(n, f): the brief\'s formulas', () => {
  it('q, Qf, t, V, τ and the reply quorum match the closed forms for every f ≤ 20, n in 3f+1..3f+40', () => {
    const cases = grid();
    expect(cases).toHaveLength(21 * 40);
    for (const [n, f] of cases) {
      const Q = quorums(n, f);
      const where = `n=${n} f=${f}`;
      expect(Q.n, where).toBe(n);
      expect(Q.f, where).toBe(f);
      expect(Q.q, where).toBe(ceilDiv2(n + f + 1));
      expect(Q.fast, where).toBe(ceilDiv2(n + 3 * f + 1));
      expect(Q.t, where).toBe(n - Q.fast);
      expect(Q.t, where).toBe(Math.floor((n - 3 * f - 1) / 2));
      expect(Q.viewChangeSet, where).toBe(n - f);
      expect(Q.tau, where).toBe(Q.fast - 2 * f);
      expect(Q.tau, where).toBe(ceilDiv2(n - f + 1));
      expect(Q.reply, where).toBe(f + 1);
    }
  });

  it('the five start-up conditions hold, and q ≤ Qf ≤ n, everywhere on the grid (validateQuorums agrees)', () => {
    for (const [n, f] of grid()) {
      const Q = quorums(n, f);
      const where = `n=${n} f=${f}`;
      expect(2 * Q.q - n, where).toBeGreaterThanOrEqual(f + 1);
      expect(Q.q + Q.fast - n, where).toBeGreaterThanOrEqual(f + 1);
      expect(Q.tau, where).toBeGreaterThanOrEqual(f + 1);
      expect(2 * Q.tau, where).toBeGreaterThan(Q.viewChangeSet);
      expect(Q.q, where).toBeLessThanOrEqual(n - f);
      expect(Q.fast, where).toBeLessThanOrEqual(n);
      expect(Q.q, where).toBeLessThanOrEqual(Q.fast);
      expect(Q.t, where).toBeGreaterThanOrEqual(0);
      expect(validateQuorums(n, f), where).toEqual(Q);
    }
  });

  it('n = 3f+2t+1 tolerates exactly t slow replicas on the fast path (FaB/SBFT sizing); n = 5f+1 gives Qf = 4f+1', () => {
    for (let f = 0; f <= 20; f++) {
      for (let t = 0; t <= 15; t++) {
        const n = 3 * f + 2 * t + 1;
        expect(quorums(n, f).t, `n=${n} f=${f}`).toBe(t);
        // One more machine buys nothing: t only grows every second replica.
        expect(quorums(n + 1, f).t, `n=${n + 1} f=${f}`).toBe(t);
      }
      expect(quorums(5 * f + 1, f).fast).toBe(4 * f + 1);
      // At n = 3f+1 the fast quorum is every replica.
      expect(quorums(3 * f + 1, f).fast).toBe(3 * f + 1);
    }
  });

  it('property: for random large clusters (f up to 80, n up to 3f+400) the same formulas and conditions hold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 400 }), (f, extra) => {
        const n = 3 * f + 1 + extra;
        const Q = validateQuorums(n, f);
        return (
          Q.q === ceilDiv2(n + f + 1) &&
          Q.fast === ceilDiv2(n + 3 * f + 1) &&
          Q.t === Math.floor((n - 3 * f - 1) / 2) &&
          Q.tau === ceilDiv2(n - f + 1) &&
          Q.viewChangeSet === n - f &&
          2 * Q.q - n >= f + 1 &&
          Q.q + Q.fast - n >= f + 1 &&
          Q.tau >= f + 1 &&
          2 * Q.tau > n - f &&
          Q.q <= n - f &&
          Q.fast <= n
        );
      }),
      { numRuns: 2000, seed: 4242 },
    );
  });

  it('q and Qf are minimal: one less breaks a start-up condition for every (n, f) on the grid', () => {
    for (const [n, f] of grid()) {
      const Q = quorums(n, f);
      const where = `n=${n} f=${f}`;
      // q − 1: two classic quorums may share only f replicas (all of them possibly Byzantine).
      expect(2 * (Q.q - 1) - n, where).toBeLessThan(f + 1);
      // Qf − 1 with its own τ' = Qf − 1 − 2f: two digests could both reach τ' in one view-change set.
      const tau1 = Q.fast - 1 - 2 * f;
      expect(2 * tau1 > n - f, where).toBe(false);
    }
  });
});

describe("the brief's table (§2.1)", () => {
  const rows = [
    { n: 4, f: 1, q: 3, fast: 4, t: 0, tau: 2 },
    { n: 5, f: 1, q: 4, fast: 5, t: 0, tau: 3 },
    { n: 6, f: 1, q: 4, fast: 5, t: 1, tau: 3 },
    { n: 7, f: 2, q: 5, fast: 7, t: 0, tau: 3 },
    { n: 11, f: 2, q: 7, fast: 9, t: 2, tau: 5 },
    { n: 16, f: 3, q: 10, fast: 13, t: 3, tau: 7 },
  ];
  for (const row of rows) {
    it(`n=${row.n} f=${row.f}: q=${row.q} Qf=${row.fast} t=${row.t} τ=${row.tau} V=${row.n - row.f}`, () => {
      expect(quorums(row.n, row.f)).toEqual({ ...row, viewChangeSet: row.n - row.f, reply: row.f + 1 });
    });
  }
});

describe('start-up validation', () => {
  function config(n: number, f: number): ClusterConfig {
    return {
      clusterId: 'q-test',
      n,
      f,
      replicas: [...Array(n).keys()].map((id) => ({ id, publicKey: new Uint8Array(32).fill(id + 1) })),
      clients: [],
    };
  }

  it('n < 3f+1 is rejected by validateQuorums and validateConfig with the reason', () => {
    for (let f = 1; f <= 20; f++) {
      for (let n = Math.max(1, f); n < 3 * f + 1; n++) {
        const msg = `n=${n} replicas cannot tolerate f=${f} Byzantine faults: need n ≥ 3f+1 = ${3 * f + 1}`;
        expect(() => validateQuorums(n, f)).toThrow(msg);
        expect(() => validateConfig(config(n, f))).toThrow(msg);
      }
    }
    // The boundary itself is accepted.
    expect(validateConfig(config(4, 1))).toEqual(quorums(4, 1));
    expect(validateConfig(config(7, 2))).toEqual(quorums(7, 2));
    expect(validateConfig(config(1, 0))).toEqual(quorums(1, 0));
  });

  it('non-integer or negative n, f are rejected', () => {
    expect(() => validateQuorums(4.5, 1)).toThrow('n and f must be non-negative integers (got n=4.5, f=1)');
    expect(() => validateQuorums(4, -1)).toThrow('n and f must be non-negative integers (got n=4, f=-1)');
    expect(() => validateQuorums(0, 0)).toThrow('n and f must be non-negative integers (got n=0, f=0)');
  });
});

// ------------------------------------------------------------------ brute force over member sets

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** Every subset of {0..n-1} with exactly k members, as bitmasks. */
function subsets(n: number, k: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < 1 << n; m++) if (popcount(m) === k) out.push(m);
  return out;
}

/** The smallest |A ∩ B| over every A of size a and B of size b, computed over actual sets. */
function minIntersection(n: number, a: number, b: number): number {
  const as = subsets(n, a);
  const bs = subsets(n, b);
  let min = Infinity;
  for (const x of as) for (const y of bs) min = Math.min(min, popcount(x & y));
  return min;
}

function smallCases(): [number, number][] {
  const out: [number, number][] = [];
  for (let n = 1; n <= 10; n++) for (let f = 0; 3 * f + 1 <= n; f++) out.push([n, f]);
  return out;
}

describe('brute force over every pair of quorums as sets (n ≤ 10)', () => {
  it('covers every (n, f) with 3f+1 ≤ n ≤ 10', () => {
    expect(smallCases()).toHaveLength(10 + 7 + 4 + 1);
  });

  for (const [n, f] of smallCases()) {
    it(`n=${n} f=${f}: q∩q ≥ f+1, q∩Qf ≥ f+1, |Qf∩V| − f ≥ τ, two τ-groups cannot fit in one V-set`, () => {
      const Q = quorums(n, f);
      const V = Q.viewChangeSet;
      const qq = minIntersection(n, Q.q, Q.q);
      const qf = minIntersection(n, Q.q, Q.fast);
      const fv = minIntersection(n, Q.fast, V);
      // The set minimum equals the arithmetic bound: the closed forms describe the real sets.
      expect(qq).toBe(Math.max(0, 2 * Q.q - n));
      expect(qf).toBe(Math.max(0, Q.q + Q.fast - n));
      expect(fv).toBe(Math.max(0, Q.fast + V - n));
      // Any two classic quorums share a correct replica.
      expect(qq).toBeGreaterThanOrEqual(f + 1);
      // A classic and a fast quorum share a correct replica.
      expect(qf).toBeGreaterThanOrEqual(f + 1);
      // A fast decision leaves at least τ correct votes in every view-change set, even when f of
      // the overlap are Byzantine and lie.
      expect(fv - f).toBeGreaterThanOrEqual(Q.tau);
      // ...and τ is more than the f votes Byzantine reporters alone can produce.
      expect(Q.tau).toBeGreaterThan(f);
      // Two disjoint groups of τ reporters never fit in one view-change set (2τ > V), checked on
      // sets: for every V-set, every pair of disjoint τ-subsets of it would need 2τ members.
      let fits = false;
      for (const vs of subsets(n, V)) {
        for (const a of subsets(n, Q.tau)) {
          if ((a & vs) !== a) continue;
          const rest = vs & ~a;
          if (popcount(rest) >= Q.tau) fits = true;
        }
        break; // by symmetry one V-set suffices
      }
      expect(fits).toBe(false);
      // A classic quorum is reachable with f replicas silent.
      const live = (1 << n) - 1 - ((1 << f) - 1); // replicas 0..f-1 silent
      expect(subsets(n, Q.q).some((s) => (s & live) === s)).toBe(true);
      // A fast quorum is reachable with t replicas silent, and not with t+1.
      const liveT = (1 << n) - 1 - ((1 << Q.t) - 1);
      expect(subsets(n, Q.fast).some((s) => (s & liveT) === s)).toBe(true);
      const liveT1 = (1 << n) - 1 - ((1 << (Q.t + 1)) - 1);
      expect(subsets(n, Q.fast).some((s) => (s & liveT1) === s)).toBe(false);
    });
  }

  for (const f of [1, 2, 3]) {
    const n = 3 * f + 1;
    it(`n=${n} f=${f}: with Qf−1 = ${n - 1} a fast decision is invisible to a view change (why Qf must be all n)`, () => {
      const Q = quorums(n, f);
      expect(Q.fast).toBe(n);
      const weakFast = Q.fast - 1;
      const V = Q.viewChangeSet;
      const fv = minIntersection(n, weakFast, V);
      // Some view-change set holds only 2f of the Qf−1 voters; f of those may be Byzantine and
      // deny their vote, leaving f correct ones: exactly as many as f Byzantine replicas can fake
      // for a competing digest, so SELECT cannot tell the decided value apart.
      expect(fv).toBe(2 * f);
      expect(fv - f).toBe(f);
      expect(fv - f).toBeLessThan(Q.tau);
      expect(fv - f).toBeLessThan(f + 1);
      // Lowering τ to match (τ' = Qf−1−2f = f) breaks the other conditions instead.
      const tau1 = weakFast - 2 * f;
      expect(tau1).toBe(f);
      expect(tau1 >= f + 1).toBe(false);
      expect(2 * tau1 > V).toBe(false);
      // The classic/fast intersection alone would still hold: it is the view change that needs all n.
      expect(minIntersection(n, Q.q, weakFast)).toBeGreaterThanOrEqual(f + 1);
      // With the real Qf = n, the survivors reach τ.
      expect(minIntersection(n, Q.fast, V) - f).toBe(Q.tau);
    });
  }
});
