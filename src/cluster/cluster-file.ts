/**
 * `cluster.json`: the public description of a cluster that every replica and client shares —
 * cluster id, n, f, protocol mode, each replica's WebSocket URL and Ed25519 public key, the
 * client keys allowed in and the admin keys that may change the membership. Nothing secret is in
 * it. The file `byzpax keygen` writes is the genesis configuration (epoch 0), the root every later
 * configuration is proved from; `byzpax config fetch` writes a later one (its `epoch` > 0), which
 * clients may start from but replicas may not (they verify the chain from genesis). Parsing is strict: a user who edits it by hand
 * gets one clear error naming the field, never a cluster that starts with a silently wrong setting.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { validateConfig, validateParams, defaultParams, type ClusterConfig, type ProtocolParams } from '../core/config.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';

export const CLUSTER_FORMAT = 'byzpax-cluster/v1';

/** What the JSON file holds (keys as hex). */
export interface ClusterFileJson {
  format: typeof CLUSTER_FORMAT;
  clusterId: string;
  /** Absent or 0 in the genesis file. */
  epoch?: number;
  n: number;
  f: number;
  mode: ProtocolParams['mode'];
  commitPolicy: ProtocolParams['commitPolicy'];
  replicas: { id: number; url: string; publicKey: string }[];
  clients: { id: number; publicKey: string }[];
  admins?: { id: number; publicKey: string }[];
  /**
   * Protocol settings every replica must share (they decide, among others, at which slot a
   * membership change takes effect): checkpointInterval, window, maxInflight, maxBatch.
   */
  params?: Partial<Record<NumericParam, number>>;
}

/** The numeric protocol settings a cluster file may set (timers stay each process's own). */
export const FILE_PARAMS = ['checkpointInterval', 'window', 'maxInflight', 'maxBatch'] as const;
type NumericParam = (typeof FILE_PARAMS)[number];

/** The parsed cluster: the core's config, where each replica listens, and the protocol settings. */
export interface Cluster {
  /** Each replica's `address` is its URL. */
  config: ClusterConfig;
  /**
   * `urls[i]` is the WebSocket endpoint of `config.replicas[i]` (replicas and clients both connect
   * there); in a genesis file ids are 0..n−1, so it is replica i's.
   */
  urls: string[];
  params: Partial<ProtocolParams>;
}

export class ClusterFileError extends Error {}

export function clusterToJson(c: Cluster): ClusterFileJson {
  return {
    format: CLUSTER_FORMAT,
    clusterId: c.config.clusterId,
    ...(c.config.epoch ? { epoch: c.config.epoch } : {}),
    n: c.config.n,
    f: c.config.f,
    mode: c.params.mode ?? defaultParams.mode,
    commitPolicy: c.params.commitPolicy ?? defaultParams.commitPolicy,
    replicas: c.config.replicas.map((r, i) => ({ id: r.id, url: r.address ?? c.urls[i]!, publicKey: toHex(r.publicKey) })),
    clients: c.config.clients.map((k) => ({ id: k.id, publicKey: toHex(k.publicKey) })),
    ...(c.config.admins?.length ? { admins: c.config.admins.map((k) => ({ id: k.id, publicKey: toHex(k.publicKey) })) } : {}),
    ...(FILE_PARAMS.some((k) => c.params[k] !== undefined) ? { params: Object.fromEntries(FILE_PARAMS.flatMap((k) => (c.params[k] === undefined ? [] : [[k, c.params[k]]]))) } : {}),
  };
}

export function parseCluster(json: unknown, where = 'cluster file'): Cluster {
  const fail = (what: string): never => {
    throw new ClusterFileError(`${where}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== CLUSTER_FORMAT) fail(`format must be "${CLUSTER_FORMAT}" (got ${JSON.stringify(o.format)})`);
  if (typeof o.clusterId !== 'string' || o.clusterId.length === 0 || o.clusterId.length > 64) fail('clusterId must be a string of 1–64 characters');
  const int = (v: unknown, name: string) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${name} must be a non-negative integer`));
  const epoch = o.epoch === undefined ? 0 : int(o.epoch, 'epoch');
  const n = int(o.n, 'n');
  const f = int(o.f, 'f');
  const key = (v: unknown, name: string): Uint8Array => {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) fail(`${name} must be 64 lowercase hex characters (an Ed25519 public key)`);
    return fromHex(v as string);
  };
  if (!Array.isArray(o.replicas)) fail('replicas must be an array');
  const replicas = (o.replicas as unknown[]).map((r, i) => {
    const e = (r ?? {}) as Record<string, unknown>;
    // Genesis ids are 0..n−1; after membership changes ids only grow (one is never reused).
    if (epoch === 0 ? e.id !== i : !(Number.isSafeInteger(e.id) && (i === 0 ? (e.id as number) >= 0 : (e.id as number) > (o.replicas as { id: number }[])[i - 1]!.id))) {
      fail(epoch === 0 ? `replicas[${i}].id must be ${i}` : `replicas[${i}].id must be an integer above the one before`);
    }
    if (typeof e.url !== 'string' || !/^wss?:\/\/[^\s/]+(\/\S*)?$/.test(e.url)) fail(`replicas[${i}].url must be a ws:// or wss:// URL`);
    return { id: e.id as number, url: e.url as string, publicKey: key(e.publicKey, `replicas[${i}].publicKey`) };
  });
  if (!Array.isArray(o.clients)) fail('clients must be an array');
  const clients = (o.clients as unknown[]).map((c, i) => {
    const e = (c ?? {}) as Record<string, unknown>;
    return { id: int(e.id, `clients[${i}].id`), publicKey: key(e.publicKey, `clients[${i}].publicKey`) };
  });
  if (o.admins !== undefined && !Array.isArray(o.admins)) fail('admins must be an array');
  const admins = ((o.admins ?? []) as unknown[]).map((c, i) => {
    const e = (c ?? {}) as Record<string, unknown>;
    return { id: int(e.id, `admins[${i}].id`), publicKey: key(e.publicKey, `admins[${i}].publicKey`) };
  });
  const params: Partial<ProtocolParams> = {};
  if (o.mode !== undefined) {
    if (o.mode !== 'fast' && o.mode !== 'classic') fail(`mode must be "fast" or "classic"`);
    params.mode = o.mode as ProtocolParams['mode'];
  }
  if (o.commitPolicy !== undefined) {
    if (o.commitPolicy !== 'deferred' && o.commitPolicy !== 'concurrent') fail(`commitPolicy must be "deferred" or "concurrent"`);
    params.commitPolicy = o.commitPolicy as ProtocolParams['commitPolicy'];
  }
  if (o.params !== undefined) {
    if (typeof o.params !== 'object' || o.params === null || Array.isArray(o.params)) fail('params must be an object');
    for (const [k, v] of Object.entries(o.params as Record<string, unknown>)) {
      if (!(FILE_PARAMS as readonly string[]).includes(k)) fail(`params.${k} is not a setting a cluster file may hold (${FILE_PARAMS.join(', ')})`);
      if (!Number.isSafeInteger(v) || (v as number) < 1) fail(`params.${k} must be a positive integer`);
      params[k as NumericParam] = v as number;
    }
  }
  const config: ClusterConfig = {
    clusterId: o.clusterId as string,
    ...(epoch > 0 ? { epoch } : {}),
    n,
    f,
    replicas: replicas.map((r) => ({ id: r.id, publicKey: r.publicKey, address: r.url })),
    clients,
    ...(admins.length > 0 ? { admins } : {}),
  };
  const keys = new Set([...replicas, ...clients, ...admins].map((k) => toHex(k.publicKey)));
  if (keys.size !== replicas.length + clients.length + admins.length) fail('a public key is listed twice');
  try {
    validateConfig(config);
    validateParams({ ...defaultParams, ...params });
  } catch (e) {
    fail((e as Error).message);
  }
  return { config, urls: replicas.map((r) => r.url), params };
}

export function readClusterFile(path: string): Cluster {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClusterFileError(`cannot read cluster file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClusterFileError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseCluster(json, path);
}

export function writeClusterFile(path: string, c: Cluster): void {
  writeFileSync(path, JSON.stringify(clusterToJson(c), null, 2) + '\n', { mode: 0o644 });
}
