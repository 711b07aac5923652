/**
 * The in-memory `CollusionHub`: one object shared by every colluding node of a simulated run.
 * Instant and lossless — colluders are assumed to have a private channel better than the network
 * (the strongest adversary). Bounded: a member that never reads loses the oldest notes.
 */
import type { ReplicaId } from '../core/config.ts';
import type { CollusionHub, CollusionNote } from './types.ts';

const MAX_PENDING = 4096;

export class InMemoryCollusionHub implements CollusionHub {
  private readonly inbox = new Map<ReplicaId, CollusionNote[]>();
  /** Every note ever published, for tests and reports. */
  published = 0;

  constructor(readonly members: readonly ReplicaId[]) {
    for (const m of members) this.inbox.set(m, []);
  }

  publish(from: ReplicaId, note: CollusionNote): void {
    this.published++;
    for (const [member, box] of this.inbox) {
      if (member === from) continue;
      box.push(note);
      if (box.length > MAX_PENDING) box.splice(0, box.length - MAX_PENDING);
    }
  }

  take(member: ReplicaId): CollusionNote[] {
    const box = this.inbox.get(member);
    if (!box || box.length === 0) return [];
    this.inbox.set(member, []);
    return box;
  }
}
