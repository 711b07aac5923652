/**
 * Creates a new cluster: fresh Ed25519 keys from the OS CSPRNG for every replica and client, the
 * shared `cluster.json`, and one 0600 key file each. Used by `byzpax keygen` and `byzpax up`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { validateQuorums, type ProtocolParams, type Quorums } from '../core/config.ts';
import { generateKeyPair } from '../crypto/keys.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { writeClusterFile, type Cluster } from './cluster-file.ts';
import { writeKeyFile } from './key-file.ts';

export interface GenerateOptions {
  dir: string;
  n: number;
  f?: number;
  clients?: number;
  host?: string;
  basePort?: number;
  mode?: ProtocolParams['mode'];
  commitPolicy?: ProtocolParams['commitPolicy'];
  /** Settings every replica shares, written into the cluster file (see FILE_PARAMS). */
  params?: Partial<Pick<ProtocolParams, 'checkpointInterval' | 'window' | 'maxInflight' | 'maxBatch'>>;
  /** Overwrite existing files. */
  force?: boolean;
}

export interface Generated {
  cluster: Cluster;
  quorums: Quorums;
  clusterFile: string;
  replicaKeys: string[];
  clientKeys: string[];
  /** The key that signs membership changes (`byzpax member …`). */
  adminKey: string;
}

export const clusterFileIn = (dir: string) => join(dir, 'cluster.json');
export const replicaKeyIn = (dir: string, id: number) => join(dir, `replica-${id}.key`);
export const clientKeyIn = (dir: string, id: number) => join(dir, `client-${id}.key`);
export const adminKeyIn = (dir: string) => join(dir, 'admin.key');
/** The public entry of a member made by `keygen --member`: what an admin needs to add it. */
export const memberEntryIn = (dir: string, id: number) => join(dir, `replica-${id}.member.json`);

/** Admin ids are kept apart from client ids (clients are numbered from 0). */
export const adminIdFor = (clients: number) => Math.max(1000, clients);

export class GenerateError extends Error {}

export function generateCluster(o: GenerateOptions): Generated {
  const f = o.f ?? Math.floor((o.n - 1) / 3);
  let quorums: Quorums;
  try {
    quorums = validateQuorums(o.n, f);
  } catch (e) {
    throw new GenerateError((e as Error).message);
  }
  const clients = o.clients ?? 2;
  const host = o.host ?? '127.0.0.1';
  const basePort = o.basePort ?? 7400;
  if (basePort + o.n - 1 > 65535) throw new GenerateError(`ports ${basePort}..${basePort + o.n - 1} exceed 65535`);
  const files = [clusterFileIn(o.dir), adminKeyIn(o.dir), ...Array.from({ length: o.n }, (_, i) => replicaKeyIn(o.dir, i)), ...Array.from({ length: clients }, (_, i) => clientKeyIn(o.dir, i))];
  const existing = files.filter((p) => existsSync(p));
  if (existing.length > 0 && !o.force) throw new GenerateError(`${existing[0]} already exists (and ${existing.length - 1} more); use --force to overwrite these keys`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });

  const clusterId = `byzpax-${toHex(new Uint8Array(randomBytes(6)))}`;
  const replicaPairs = Array.from({ length: o.n }, () => generateKeyPair());
  const clientPairs = Array.from({ length: clients }, () => generateKeyPair());
  const adminPair = generateKeyPair();
  const adminId = adminIdFor(clients);
  const urls = replicaPairs.map((_, id) => `ws://${host}:${basePort + id}`);
  const cluster: Cluster = {
    config: {
      clusterId,
      n: o.n,
      f,
      replicas: replicaPairs.map((k, id) => ({ id, publicKey: k.publicKey, address: urls[id]! })),
      clients: clientPairs.map((k, id) => ({ id, publicKey: k.publicKey })),
      admins: [{ id: adminId, publicKey: adminPair.publicKey }],
    },
    urls,
    params: { ...o.params, ...(o.mode ? { mode: o.mode } : {}), ...(o.commitPolicy ? { commitPolicy: o.commitPolicy } : {}) },
  };
  const replicaKeys = replicaPairs.map((k, id) => {
    const path = replicaKeyIn(o.dir, id);
    writeKeyFile(path, { clusterId, role: 'replica', id, seed: k.seed, publicKey: k.publicKey }, o.force);
    return path;
  });
  const clientKeys = clientPairs.map((k, id) => {
    const path = clientKeyIn(o.dir, id);
    writeKeyFile(path, { clusterId, role: 'client', id, seed: k.seed, publicKey: k.publicKey }, o.force);
    return path;
  });
  const adminKey = adminKeyIn(o.dir);
  writeKeyFile(adminKey, { clusterId, role: 'admin', id: adminId, seed: adminPair.seed, publicKey: adminPair.publicKey }, o.force);
  // The public file last: its presence means the key set is complete.
  writeClusterFile(clusterFileIn(o.dir), cluster);
  return { cluster, quorums, clusterFile: clusterFileIn(o.dir), replicaKeys, clientKeys, adminKey };
}

export const MEMBER_FORMAT = 'byzpax-member/v1';

/** A member's public entry: what `byzpax member add|replace|rotate-key` sends (no secret in it). */
export interface MemberEntry {
  clusterId: string;
  id: number;
  url: string;
  publicKey: Uint8Array;
}

export interface MemberOptions {
  cluster: Cluster;
  dir: string;
  /** Default: one above the highest id in `cluster` (ids are never reused). */
  id?: number;
  /** Default: ws://<host of the first replica>:<its port + (id − its id)>. */
  url?: string;
  force?: boolean;
}

/**
 * A new member's key (`replica-<id>.key`, 0600, with the URL it will listen on) and its public
 * entry (`replica-<id>.member.json`). With the id of a current member it is that member's next key
 * (a key rotation): then the key file is `replica-<id>.next.key`.
 */
export function generateMember(o: MemberOptions): { entry: MemberEntry; keyFile: string; entryFile: string } {
  const { config } = o.cluster;
  const first = config.replicas[0];
  const id = o.id ?? Math.max(-1, ...config.replicas.map((r) => r.id)) + 1;
  const existing = config.replicas.find((r) => r.id === id);
  let url = o.url ?? existing?.address;
  if (!url && first?.address) {
    const u = new URL(first.address);
    u.port = String(Number(u.port) + id - first.id);
    url = u.toString().replace(/\/$/, '');
  }
  if (!url) throw new GenerateError('give the new member a URL (--url ws://host:port)');
  const pair = generateKeyPair();
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const keyFile = join(o.dir, existing ? `replica-${id}.next.key` : `replica-${id}.key`);
  const entryFile = memberEntryIn(o.dir, id);
  for (const p of [keyFile, entryFile]) if (existsSync(p) && !o.force) throw new GenerateError(`${p} already exists; use --force to overwrite it`);
  writeKeyFile(keyFile, { clusterId: config.clusterId, role: 'replica', id, seed: pair.seed, publicKey: pair.publicKey, url }, o.force);
  const entry: MemberEntry = { clusterId: config.clusterId, id, url, publicKey: pair.publicKey };
  writeFileSync(entryFile, JSON.stringify({ format: MEMBER_FORMAT, clusterId: config.clusterId, id, url, publicKey: toHex(pair.publicKey) }, null, 2) + '\n', { mode: 0o644 });
  return { entry, keyFile, entryFile };
}

export function readMemberEntry(path: string): MemberEntry {
  const fail = (what: string): never => {
    throw new GenerateError(`${path}: ${what}`);
  };
  let o: Record<string, unknown> = {};
  try {
    o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    fail(`cannot read a member entry (${(e as Error).message})`);
  }
  if (o.format !== MEMBER_FORMAT) fail(`not a member entry (format must be "${MEMBER_FORMAT}")`);
  if (typeof o.clusterId !== 'string') fail('clusterId missing');
  if (!Number.isSafeInteger(o.id) || (o.id as number) < 0) fail('id must be a non-negative integer');
  if (typeof o.url !== 'string' || !/^wss?:\/\/\S+$/.test(o.url)) fail('url must be a ws:// or wss:// URL');
  if (typeof o.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(o.publicKey)) fail('publicKey must be 64 lowercase hex characters');
  return { clusterId: o.clusterId as string, id: o.id as number, url: o.url as string, publicKey: fromHex(o.publicKey as string) };
}
