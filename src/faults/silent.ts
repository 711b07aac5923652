/**
 * silent: takes everything in, says nothing — a crashed replica that never comes back, or a
 * Byzantine one withholding every vote (FAST-GRIEF-1 at n = 3f+1: no fast certificate can form).
 */
import { emptyOutputs, type Outputs } from '../core/io.ts';
import { ByzantineBase } from './base.ts';

export class SilentNode extends ByzantineBase {
  readonly strategy = 'silent' as const;
  readonly view = 0;
  readonly executed = 0;

  step(): Outputs {
    return emptyOutputs();
  }
}
