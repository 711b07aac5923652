/**
 * The end-to-end tests' client workload: each client alternates writes to its own keys (so the
 * last acknowledged write of each is known) with reads and compare-and-swaps on one shared key (so
 * clients race and the linearizability checker has work).
 */
import type { HistoryRecorder } from '../../src/check/history-recorder.ts';
import type { Client } from '../../src/client/client.ts';

/**
 * Runs operations until `next(i)` (called after operation i) resolves false. `lastWrite` gets
 * every acknowledged write's value per key.
 */
export async function clientLoop(c: Client, h: HistoryRecorder, lastWrite: Map<string, string>, next: (i: number) => boolean | Promise<boolean>): Promise<void> {
  let shared: string | null = null;
  for (let i = 0; ; i++) {
    const own = `c${c.id}-k${i % 3}`;
    switch (i % 4) {
      case 0:
      case 2: {
        const value = `c${c.id}-v${i}`;
        if (await h.run(c, { op: 'put', key: own, value })) lastWrite.set(own, value);
        break;
      }
      case 1: {
        const a = await h.run(c, { op: 'get', key: 'shared' });
        if (a && 'value' in a.result) shared = a.result.value;
        break;
      }
      case 3:
        await h.run(c, { op: 'cas', key: 'shared', expected: shared, value: `c${c.id}-s${i}` });
        break;
    }
    if (!(await next(i))) return;
  }
}
