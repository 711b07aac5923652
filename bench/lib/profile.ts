/**
 * Reads V8 .cpuprofile files (node --cpu-prof) and ranks functions by self time, grouped by
 * function and source file, to show where a replica's CPU goes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of non-idle samples by category (crypto, codec, ws/net, lmdb, gc, core, other). */
  categories: Record<string, number>;
  top: HotSpot[];
}

function category(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'v8/native (program)';
  // Canonical CBOR lives in src/crypto (it is what signatures cover) but is encoding work.
  if (/cbor|codec|msgpack/i.test(url)) return 'codec (CBOR)';
  if (/\/crypto\/(bytes|lru)\./.test(url)) return 'other';
  if (/crypto|ed25519|verifier|signer|sha|hash|merkle|secure-channel/i.test(url) || /^(sign|verify|digest|update|createHash|createPublicKey)$/.test(fn)) return 'crypto (sign/verify/hash/AEAD)';
  if (/node_modules\/ws|\/net\/|node:net|node:stream|_stream|stream_base|node:internal\/(net|stream)/.test(url)) return 'network (ws, sockets)';
  if (/lmdb|storage/i.test(url)) return 'storage (lmdb)';
  if (/pino|sonic-boom|thread-stream/.test(url)) return 'logging';
  if (/\/src\/core\//.test(url)) return 'protocol core';
  if (/\/src\/server\/|\/src\/app\//.test(url)) return 'server + app';
  return 'other';
}

/**
 * `window`: only samples taken between these offsets from the profile's start (ms), to leave out
 * start-up (module loading) and shutdown.
 */
export function summarizeProfile(file: string, root: string, topN = 15, window?: { fromMs: number; toMs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    t += p.timeDeltas[i] ?? 0;
    const offsetMs = (t - p.startTime) / 1000;
    if (window && (offsetMs < window.fromMs || offsetMs > window.toMs)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  // A native frame (no source) is charged to the category of the nearest JavaScript caller.
  const callerWithSource = (id: number): ProfileNode | undefined => {
    for (let cur: number | undefined = id, hops = 0; cur !== undefined && hops < 64; cur = parent.get(cur), hops++) {
      const n = byId.get(cur);
      if (n?.callFrame.url) return n;
    }
    return undefined;
  };
  const shortPath = (url: string) => (url.startsWith('file://') ? relative(root, new URL(url).pathname) : url);
  const grouped = new Map<string, HotSpot>();
  const categories: Record<string, number> = {};
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const fn = functionName || '(anonymous)';
    const caller = url ? undefined : callerWithSource(id);
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : caller ? `native, from ${caller.callFrame.functionName || '(anonymous)'} ${shortPath(caller.callFrame.url)}` : '';
    const key = `${fn}@${where}`;
    const h = grouped.get(key) ?? { fn, where, selfMs: 0, share: 0 };
    h.selfMs += us / 1000;
    grouped.set(key, h);
    const cat = category(fn, url || caller?.callFrame.url || '');
    categories[cat] = (categories[cat] ?? 0) + us;
  }
  for (const k of Object.keys(categories)) categories[k] = Math.round((categories[k]! / busyUs) * 1000) / 1000;
  const top = [...grouped.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topN);
  for (const h of top) {
    h.share = Math.round((h.selfMs / (busyUs / 1000)) * 1000) / 1000;
    h.selfMs = Math.round(h.selfMs);
  }
  return { file, totalMs: Math.round(busyUs / 1000), categories, top };
}

export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f)).sort();
  } catch {
    return [];
  }
}
