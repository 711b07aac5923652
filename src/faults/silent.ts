/**
 * silent: takes everything in, says nothing — a crashed replica that never comes back, or a
 * Byzantine one withholding every vote (FAST-GRIEF-1 at n = 3f+1: no fast certificate can form).
 * The core's `SilentNode`, labelled as a strategy.
 */
import { SilentNode } from '../core/node.ts';
import type { ByzantineNode, StrategyContext } from './types.ts';

export class SilentStrategyNode extends SilentNode implements ByzantineNode {
  readonly strategy = 'silent' as const;
  constructor(ctx: StrategyContext) {
    super(ctx.id);
  }
}
