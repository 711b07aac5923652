/**
 * Measures apply latency of the lmdb storage on this machine (not a test; run it by hand):
 *   npx tsx bench/storage-apply-latency.ts [batches]
 * "sequential" awaits each apply (one fsync'd commit per batch); "8 in flight" queues 8 before
 * awaiting, which lmdb folds into shared commits (what a group-committing driver would see).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStorage } from '../src/storage/lmdb-storage.ts';
import { IDENTITY, workloadBatch } from '../test/storage/ops.ts';

const n = Number(process.argv[2] ?? 500);
const batches = Array.from({ length: 2 * n + 8 }, (_, i) => workloadBatch(i + 1));
const dir = mkdtempSync(join(tmpdir(), 'byzpax-storage-latency-'));
try {
  const storage = await openLmdbStorage(dir, IDENTITY);
  for (let i = 0; i < 8; i++) await storage.apply(batches[i]!); // warm up
  const times: number[] = [];
  for (let i = 8; i < 8 + n; i++) {
    const t = performance.now();
    await storage.apply(batches[i]!);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / n;
  const pct = (p: number) => times[Math.min(n - 1, Math.floor(p * n))]!.toFixed(3);
  const ops = batches.slice(8, 8 + n).reduce((a, b) => a + b.length, 0) / n;
  console.log(`sequential: ${n} batches of ${ops.toFixed(1)} ops, mean ${mean.toFixed(3)} ms, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);

  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 8 + n; i < 8 + 2 * n; i++) {
    inFlight.push(storage.apply(batches[i]!));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  console.log(`8 in flight: ${((performance.now() - t0) / n).toFixed(3)} ms per batch`);
  await storage.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
