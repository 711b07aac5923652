/**
 * Membership changes in the random schedules (issue 12): an admin replaces, adds and removes
 * members, rotates keys and changes f while the simulator crashes replicas, partitions and loses
 * messages. The checker counts each certificate only with the members and quorums of its slot's
 * epoch, checks every correct replica verified the same chain of configurations, and every
 * schedule must stay live — every planned change takes effect, every client request completes.
 */
import { describe, expect, it } from 'vitest';
import { decodeChangeResult, decodeSystemCommand, encodeSystemCommand } from '../../src/core/membership.ts';
import { defaultSimOptions, Simulation, simReplicaKey, type SimOptions } from '../../src/sim/simulation.ts';
import type { PlannedChange } from '../../src/sim/sim-admin.ts';

function run(seed: number, extra: Partial<SimOptions> = {}) {
  const sim = new Simulation({ ...defaultSimOptions, seed, reconfig: true, ...extra });
  const r = sim.run();
  return { r, epoch: sim.membershipView.latest().epoch, config: sim.membershipView.latest().config };
}

const member = (id: number) => ({ id, publicKey: simReplicaKey(id).publicKey, address: '' });

describe('membership change in the simulator', () => {
  it('40 random schedules with a drawn plan: no violation, live, linearizable, and the plan took effect', () => {
    let epochs = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { r, epoch } = run(seed);
      expect({ seed, violations: r.violations, live: r.live, linearizable: r.linearizable }).toEqual({ seed, violations: [], live: true, linearizable: 'ok' });
      epochs += epoch;
    }
    // Every plan changes at least once; most change several times.
    expect(epochs).toBeGreaterThanOrEqual(40);
  }, 600_000);

  it('grow 4 → 7 and raise f to 2, under crashes and loss', () => {
    const add = (id: number): PlannedChange => () => ({ kind: 'add', member: member(id) });
    const plan: PlannedChange[] = [add(4), add(5), add(6), () => ({ kind: 'set-f', f: 2 })];
    const { r, epoch, config } = run(7, { reconfig: plan });
    expect(r.violations).toEqual([]);
    expect(r.live).toBe(true);
    expect(epoch).toBe(4);
    expect(config.replicas.map((x) => x.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(config.f).toBe(2);
  }, 120_000);

  it('shrink 7 → 4: lower f, then remove three members; the remaining four stay live', () => {
    const remove = (id: number): PlannedChange => () => ({ kind: 'remove', id });
    const plan: PlannedChange[] = [() => ({ kind: 'set-f', f: 1 }), remove(6), remove(0), remove(3)];
    const { r, epoch, config } = run(3, { n: 7, f: 2, reconfig: plan });
    expect(r.violations).toEqual([]);
    expect(r.live).toBe(true);
    expect(epoch).toBe(4);
    expect(config.replicas.map((x) => x.id)).toEqual([1, 2, 4, 5]);
  }, 120_000);

  it('a change that would break n ≥ 3f+1 is refused with a clear error and changes nothing', () => {
    const plan: PlannedChange[] = [() => ({ kind: 'set-f', f: 2 }), () => ({ kind: 'remove', id: 9 })];
    const sim = new Simulation({ ...defaultSimOptions, seed: 5, reconfig: plan });
    const r = sim.run();
    expect(r.violations).toEqual([]);
    expect(r.live).toBe(true);
    expect(sim.membershipView.latest().epoch).toBe(0);
  }, 120_000);

  it('system commands round-trip, and malformed ones are named', () => {
    const op = encodeSystemCommand({ kind: 'change', change: { kind: 'replace', id: 2, member: member(7) } });
    expect(op[0]).toBe(0xff);
    expect(decodeSystemCommand(op)).toEqual({ kind: 'change', change: { kind: 'replace', id: 2, member: member(7) } });
    expect(decodeSystemCommand(new Uint8Array([0xff, 0x01]))).toBe('system command: not [kind, ...]');
    expect(decodeSystemCommand(new Uint8Array([0x01]))).toBe('not a system command');
    expect(decodeChangeResult(new Uint8Array([0x80]))).toBeUndefined();
  });
});
