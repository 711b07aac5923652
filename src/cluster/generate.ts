/**
 * Creates a new cluster: fresh Ed25519 keys from the OS CSPRNG for every replica and client, the
 * shared `cluster.json`, and one 0600 key file each. Used by `byzpax keygen` and `byzpax up`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { validateQuorums, type ProtocolParams, type Quorums } from '../core/config.ts';
import { generateKeyPair } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
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
  /** Overwrite existing files. */
  force?: boolean;
}

export interface Generated {
  cluster: Cluster;
  quorums: Quorums;
  clusterFile: string;
  replicaKeys: string[];
  clientKeys: string[];
}

export const clusterFileIn = (dir: string) => join(dir, 'cluster.json');
export const replicaKeyIn = (dir: string, id: number) => join(dir, `replica-${id}.key`);
export const clientKeyIn = (dir: string, id: number) => join(dir, `client-${id}.key`);

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
  const files = [clusterFileIn(o.dir), ...Array.from({ length: o.n }, (_, i) => replicaKeyIn(o.dir, i)), ...Array.from({ length: clients }, (_, i) => clientKeyIn(o.dir, i))];
  const existing = files.filter((p) => existsSync(p));
  if (existing.length > 0 && !o.force) throw new GenerateError(`${existing[0]} already exists (and ${existing.length - 1} more); use --force to overwrite these keys`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });

  const clusterId = `byzpax-${toHex(new Uint8Array(randomBytes(6)))}`;
  const replicaPairs = Array.from({ length: o.n }, () => generateKeyPair());
  const clientPairs = Array.from({ length: clients }, () => generateKeyPair());
  const cluster: Cluster = {
    config: {
      clusterId,
      n: o.n,
      f,
      replicas: replicaPairs.map((k, id) => ({ id, publicKey: k.publicKey })),
      clients: clientPairs.map((k, id) => ({ id, publicKey: k.publicKey })),
    },
    urls: replicaPairs.map((_, id) => `ws://${host}:${basePort + id}`),
    params: { ...(o.mode ? { mode: o.mode } : {}), ...(o.commitPolicy ? { commitPolicy: o.commitPolicy } : {}) },
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
  // The public file last: its presence means the key set is complete.
  writeClusterFile(clusterFileIn(o.dir), cluster);
  return { cluster, quorums, clusterFile: clusterFileIn(o.dir), replicaKeys, clientKeys };
}
