/**
 * Child process for the crash test: opens the storage in argv[2], continues the workload from
 * what it finds there and prints "durable <k>" once each batch is durable, until it is killed
 * (or reaches argv[3] batches, so a lost parent can't leave it running forever).
 */
import { openLmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { IDENTITY, workloadBatch } from './ops.ts';

const dir = process.argv[2];
const limit = Number(process.argv[3] ?? 5000);
if (!dir) throw new Error('usage: crash-child.ts <dir> [limit]');

const storage = await openLmdbStorage(dir, IDENTITY);
const start = storage.load()?.view ?? 0;
process.stdout.write(`start ${start}\n`);
// Build batch k+1 while batch k commits, so the loop spends its time in apply and a kill lands mid-commit.
let next = workloadBatch(start + 1);
// Odd batches go through applyNow (how a replica writes its promises), even ones through apply.
for (let k = start + 1; k <= limit; k++) {
  if (k % 2 === 1) {
    storage.applyNow(next);
    next = workloadBatch(k + 1);
  } else {
    const applied = storage.apply(next);
    next = workloadBatch(k + 1);
    await applied;
  }
  process.stdout.write(`durable ${k}\n`);
}
await storage.close();
