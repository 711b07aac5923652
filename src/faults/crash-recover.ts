/**
 * crash-recover: an honest replica that crashes and recovers on its own schedule. While down it
 * loses every input and sends nothing; on recovery it rebuilds from exactly what it had persisted
 * (its own copy of the durable state, kept from its persist ops — what the disk would hold) and
 * resumes, re-sending a VIEW-CHANGE it may have lost. It crashes more readily while it leads.
 *
 * Self-contained on purpose: the same node crashes the same way under the simulator and inside a
 * live process, without the driver's crash machinery.
 */
import { memoryDisk, persistOf, type Disk } from '../core/driver.ts';
import { emptyDurableState, type DurableState } from '../core/durable.ts';
import { emptyOutputs, type Input, type Outputs } from '../core/io.ts';
import { WrappedReplica } from './base.ts';
import type { StrategyContext } from './types.ts';

export class CrashRecoverNode extends WrappedReplica {
  readonly strategy = 'crash-recover' as const;
  private readonly disk: DurableState;
  private readonly diskWriter: Disk;
  private down = false;
  crashes = 0;
  recoveries = 0;

  constructor(ctx: StrategyContext) {
    super(ctx);
    this.disk = ctx.durable ? structuredClone(ctx.durable) : emptyDurableState();
    this.diskWriter = memoryDisk(this.disk);
  }

  override step(input: Input): Outputs {
    if (this.down) {
      if (input.kind !== 'tick' || !this.dice.chance(this.tuning.recoverRate)) return emptyOutputs();
      this.down = false;
      this.recoveries++;
      // The replica starts over from its disk: everything it had only in memory is gone.
      const { replica, outputs } = this.buildReplica(structuredClone(this.disk));
      this.inner = replica;
      return this.rewrite(outputs);
    }
    if (input.kind === 'tick' && this.dice.chance(this.leading ? 3 * this.tuning.crashRate : this.tuning.crashRate)) {
      this.down = true;
      this.crashes++;
      return emptyOutputs();
    }
    return super.step(input);
  }

  protected override rewrite(out: Outputs): Outputs {
    // Persist before send, as any driver does (its own disk, written the drivers' way): what it
    // wrote survives the next crash. Its outer driver carries the outputs out as usual.
    const { ops, mustSync } = persistOf([out]);
    this.diskWriter.write(ops, mustSync);
    return out;
  }
}
