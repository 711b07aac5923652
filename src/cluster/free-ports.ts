/**
 * Finding loopback ports nobody listens on, for clusters started on this machine by tests,
 * benchmarks and the nemesis (their cluster.json fixes each replica's port before it starts).
 */
import { createServer } from 'node:net';

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A base port such that base..base+count-1 are all free on `host` right now (20000–50000). */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p, host);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
