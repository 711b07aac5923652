/**
 * The strategy library as an API, outside the simulator: what a live process will call. Every
 * strategy is built from a plain `StrategyContext` (a Math.random-like source, no simulator
 * object), stepped, and everything it emits must be real wire traffic; the CLI validates what it
 * is given.
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeKvCommand } from '../../src/app/kv-command.ts';
import { decodeMessage, encodeMessage } from '../../src/codec/wire.ts';
import { Auth } from '../../src/core/auth.ts';
import { applyPersistOp, emptyDurableState } from '../../src/core/durable.ts';
import type { Outputs } from '../../src/core/io.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { createByzantineNode, startByzantineNode, strategies, type ByzantineNode } from '../../src/faults/registry.ts';
import { strategyNames, type StrategyContext, type StrategyName } from '../../src/faults/types.ts';
import { simCluster } from '../../src/sim/simulation.ts';
import { UsageError } from '../../src/cli/options.ts';
import { parseByzantine, simCommand } from '../../src/cli/sim.ts';
import { faultsCommand } from '../../src/cli/faults.ts';

const { config, replicaSeeds, clientSeeds } = simCluster(4, 1, 1);
const verifier = new SignatureVerifier();

/** A tiny LCG standing in for Math.random: the library only needs `next()`. */
function lcg(seed: number): { next(): number } {
  let s = seed >>> 0;
  return { next: () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) };
}

function context(id: number, strategy: StrategyName, durable = emptyDurableState()): StrategyContext {
  return { id, config, params: { checkpointInterval: 8, window: 16, requestTimeoutTicks: 20, statusIntervalTicks: 5 }, signer: new Signer(replicaSeeds[id]!), verifier, random: lcg(id + strategy.length), durable };
}

function request(ts: number) {
  const client = new Auth(config, new Signer(clientSeeds[0]!), verifier);
  const op = encodeKvCommand({ op: 'put', key: 'k', value: `v${ts}` });
  return { type: 'request' as const, request: { clientId: 0, ts, op, sig: client.sign(client.statements.request({ clientId: 0, ts, op })) } };
}

describe('the library', () => {
  it('lists every strategy once, with a one-line summary', () => {
    expect(strategies.map((s) => s.name)).toEqual([...strategyNames]);
    for (const s of strategies) expect(s.summary).toMatch(/^[^\n]{10,110}$/);
  });

  it('refuses an unknown strategy', () => {
    expect(() => createByzantineNode('nope' as StrategyName, context(0, 'silent'))).toThrow(/unknown Byzantine strategy 'nope'/);
  });

  for (const name of strategyNames) {
    it(`${name}: built from a plain context, emits only canonical frames, resumes from its durable state`, () => {
      const node = createByzantineNode(name, context(0, name));
      expect(node).toMatchObject({ id: 0, honest: false, strategy: name });
      const disk = emptyDurableState();
      const outs: Outputs[] = [];
      for (let t = 1; t <= 120; t++) {
        outs.push(node.step(t % 10 === 1 ? { kind: 'request', message: request(t) } : { kind: 'tick' }));
        for (const op of outs[outs.length - 1]!.persist) applyPersistOp(disk, op);
        for (const raw of node.takeRawFrames?.() ?? []) expect(raw.frame).toBeInstanceOf(Uint8Array);
      }
      for (const out of outs) {
        for (const s of [...out.send.map((x) => x.message), ...out.replies.map((x) => x.message)]) {
          const frame = encodeMessage(s);
          const back = decodeMessage(frame);
          expect(back.ok, back.ok ? '' : back.reason).toBe(true);
        }
      }
      if (name !== 'silent') {
        // Alone, as leader of view 0, it still proposes the requests it got (valid signatures).
        expect(outs.some((o) => o.send.some((s) => s.message.type === 'propose')) || name === 'slow-leader').toBe(true);
      }
      let again: ByzantineNode | undefined;
      expect(() => (again = startByzantineNode(name, context(0, name, disk)).node)).not.toThrow();
      expect(again!.view).toBe(node.view);
    });
  }
});

describe('byzpax sim --byzantine / byzpax faults', () => {
  it('parses replica:strategy lists and refuses bad ones with one clear line', () => {
    expect(parseByzantine('0:equivocate, 3:double-vote', 4)).toEqual([
      { id: 0, strategy: 'equivocate' },
      { id: 3, strategy: 'double-vote' },
    ]);
    expect(parseByzantine(undefined, 4)).toEqual([]);
    expect(() => parseByzantine('0:nope', 4)).toThrow(/unknown strategy \(known: silent, /);
    expect(() => parseByzantine('4:forge', 4)).toThrow(/only replicas 0..3/);
    expect(() => parseByzantine('1:forge,1:flood', 4)).toThrow(/twice/);
    expect(() => parseByzantine('forge', 4)).toThrow(UsageError);
  });

  it('refuses more than f faulty replicas unless --allow-more-than-f', () => {
    expect(() => simCommand(['--byzantine', '0:collude,1:collude'])).toThrow(/2 replicas but f=1.*--allow-more-than-f/);
    expect(() => simCommand(['--silent', '2', '--byzantine', '0:forge'])).toThrow(/more than f/);
    expect(() => simCommand(['--silent', '1', '--byzantine', '1:forge', '--allow-more-than-f'])).toThrow(/both --silent and --byzantine/);
  });

  it('byzpax faults lists the strategies', () => {
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    try {
      expect(faultsCommand([])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    for (const name of strategyNames) expect(text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('byzpax sim --byzantine reports what was detected in its JSON summary', () => {
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = simCommand(['--byzantine', '0:equivocate', '--seed', '1', '--seeds', '1', '--calm', '--no-crash', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const summary = JSON.parse(text.trim().split('\n').pop()!);
    expect(summary.detections.misbehaviourBy).toEqual({ 0: 1 });
    expect(summary.runs).toEqual([expect.objectContaining({ seed: 1, violations: 0, live: true })]);
    expect(summary.runs[0].detections.misbehaviourBy).toEqual({ 0: 1 });
    expect(summary.runs[0].detections.misbehaviour).toEqual({ 'two proposals for slot N in view N': 1 });
    expect(Object.keys(summary.runs[0].detections.drops).length).toBeGreaterThan(0);
  });
});
