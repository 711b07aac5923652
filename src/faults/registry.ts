/**
 * The Byzantine strategy library: names, one-line summaries, and the factory.
 *
 *     const { node, outputs } = startByzantineNode('equivocate', { id, config, params, signer, verifier, random, durable, hub })
 *     carryOut(outputs, io)                   // what it produced while (re)starting
 *     stepNode(node, input, io)               // like Replica.step, raw frames included
 *
 * Pure like the core (no socket, clock or disk): the simulator runs these in a replica's place,
 * and a live process can run the same objects behind its transport.
 */
import { ColludeNode } from './collude.ts';
import { CrashRecoverNode } from './crash-recover.ts';
import { DoubleVoteNode } from './double-vote.ts';
import { EquivocateNode } from './equivocate.ts';
import { FloodNode } from './flood.ts';
import { ForgeNode } from './forge.ts';
import { InvalidSigsNode } from './invalid-sigs.ts';
import { LieToClientsNode } from './lie-to-clients.ts';
import { RemovedMemberNode } from './removed-member.ts';
import { SilentStrategyNode } from './silent.ts';
import { SlowLeaderNode } from './slow-leader.ts';
import { StaleStateNode } from './stale-state.ts';
import { VcLieNode } from './vc-lie.ts';
import { emptyOutputs } from '../core/io.ts';
import type { StartedNode } from '../core/node.ts';
import { isStrategyName, strategyNames, type ByzantineNode, type StrategyContext, type StrategyName } from './types.ts';

export { InMemoryCollusionHub } from './hub.ts';
export * from './types.ts';

const registry: Record<StrategyName, { summary: string; create: (ctx: StrategyContext) => ByzantineNode }> = {
  silent: { summary: 'receives everything, sends nothing (withholds every vote)', create: (ctx) => new SilentStrategyNode(ctx) },
  'crash-recover': { summary: 'honest, but crashes and restarts from its own persisted state on its own schedule', create: (ctx) => new CrashRecoverNode(ctx) },
  equivocate: { summary: 'as leader, different validly signed PROPOSEs (and NEW-VIEWs) to different replicas', create: (ctx) => new EquivocateNode(ctx) },
  'double-vote': { summary: 'signed ACCEPTs and COMMITs for two digests in one slot, to different halves', create: (ctx) => new DoubleVoteNode(ctx) },
  'lie-to-clients': { summary: 'validly signed replies with wrong results, slots and views; fabricated early answers', create: (ctx) => new LieToClientsNode(ctx) },
  forge: { summary: 'bad signatures, bad certificates, wrong view/slot, replays, malformed frames', create: (ctx) => new ForgeNode(ctx) },
  'vc-lie': { summary: 'VIEW-CHANGEs hiding or inventing votes and certificates; NEW-VIEWs breaking SELECT', create: (ctx) => new VcLieNode(ctx) },
  'stale-state': { summary: 'wrong and stale CHECKPOINTs, corrupt or forged STATE snapshots, bad DECISIONs', create: (ctx) => new StaleStateNode(ctx) },
  'slow-leader': { summary: 'as leader, holds proposals until just under the request timeout, or trickles them', create: (ctx) => new SlowLeaderNode(ctx) },
  flood: { summary: 'junk, duplicate and amplifying messages every tick on top of the protocol (bounded)', create: (ctx) => new FloodNode(ctx) },
  collude: { summary: 'colluders via a shared hub: leader equivocation + double votes for the minority + lying VIEW-CHANGEs', create: (ctx) => new ColludeNode(ctx) },
  'invalid-sigs': { summary: 'honest, but its votes, PROPOSEs and CHECKPOINTs carry invalid signatures on its authentic channel', create: (ctx) => new InvalidSigsNode(ctx) },
  'removed-member': { summary: 'honest until removed (sim --reconfig removes it); then signs for later epochs, replays old votes', create: (ctx) => new RemovedMemberNode(ctx) },
};

export const strategies: { name: StrategyName; summary: string }[] = strategyNames.map((name) => ({ name, summary: registry[name].summary }));

export function createByzantineNode(name: StrategyName, ctx: StrategyContext): ByzantineNode {
  if (!isStrategyName(name)) throw new Error(`unknown Byzantine strategy '${String(name)}' (known: ${strategyNames.join(', ')})`);
  return registry[name].create(ctx);
}

/** A strategy node and the outputs it produced while (re)starting from `ctx.durable`, to carry out first. */
export function startByzantineNode(name: StrategyName, ctx: StrategyContext): StartedNode<ByzantineNode> {
  const node = createByzantineNode(name, ctx);
  return { node, outputs: node.takeStartOutputs?.() ?? emptyOutputs() };
}
