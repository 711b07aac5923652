/**
 * Private key files: one per replica and per client, `{format, clusterId, role, id, seed,
 * publicKey}` as JSON, written with mode 0600. Reading one checks the seed derives the stated
 * public key and, given the cluster, that this key is the one the cluster lists for that role and
 * id — so a user who points a replica at the wrong file gets told, instead of a replica whose every
 * message its peers silently drop.
 */
import { openSync, readFileSync, writeSync, closeSync, statSync } from 'node:fs';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { keyPairFromSeed } from '../crypto/keys.ts';
import type { Cluster } from './cluster-file.ts';

export const KEY_FORMAT = 'byzpax-key/v1';

/** An admin key signs membership changes (`byzpax member …`); it connects to replicas as a client. */
export type KeyRole = 'replica' | 'client' | 'admin';

export interface KeyFile {
  clusterId: string;
  role: KeyRole;
  id: number;
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** A replica key made for a membership change (`keygen --member`) names where it will listen. */
  url?: string;
}

export class KeyFileError extends Error {}

/** Writes a key file readable by its owner only. Refuses to overwrite unless `force`. */
export function writeKeyFile(path: string, k: KeyFile, force = false): void {
  const json = { format: KEY_FORMAT, clusterId: k.clusterId, role: k.role, id: k.id, seed: toHex(k.seed), publicKey: toHex(k.publicKey), ...(k.url ? { url: k.url } : {}) };
  // 'wx' fails if the file exists: no window in which another key could be clobbered.
  const fd = openSync(path, force ? 'w' : 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(json, null, 2) + '\n');
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and checks a key file. With `cluster`, the key must be listed there under its role —
 * unless `joining`: a replica joining after a membership change is in no cluster file yet (the
 * replicated configuration lists it), so only its cluster id is checked.
 */
export function readKeyFile(path: string, cluster?: Cluster, expect?: KeyRole, joining = false): KeyFile {
  const fail = (what: string): never => {
    throw new KeyFileError(`${path}: ${what}`);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot read key file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let o: Record<string, unknown> = {};
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fail('not a byzpax key file (invalid JSON)');
  }
  if (o === null || typeof o !== 'object' || o.format !== KEY_FORMAT) fail(`not a byzpax key file (format must be "${KEY_FORMAT}")`);
  if (o.role !== 'replica' && o.role !== 'client' && o.role !== 'admin') fail('role must be "replica", "client" or "admin"');
  if (!Number.isSafeInteger(o.id) || (o.id as number) < 0) fail('id must be a non-negative integer');
  if (typeof o.seed !== 'string' || !/^[0-9a-f]{64}$/.test(o.seed)) fail('seed must be 64 lowercase hex characters');
  if (typeof o.clusterId !== 'string') fail('clusterId missing');
  const pair = keyPairFromSeed(fromHex(o.seed as string));
  if (typeof o.publicKey !== 'string' || o.publicKey !== toHex(pair.publicKey)) fail('publicKey does not match the seed (damaged file?)');
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^wss?:\/\/\S+$/.test(o.url))) fail('url must be a ws:// or wss:// URL');
  const k: KeyFile = { clusterId: o.clusterId as string, role: o.role as KeyRole, id: o.id as number, seed: pair.seed, publicKey: pair.publicKey, ...(o.url ? { url: o.url as string } : {}) };
  if (expect && k.role !== expect) fail(`this is a ${k.role} key; a ${expect} key is needed here`);
  if (cluster) {
    if (k.clusterId !== cluster.config.clusterId) fail(`key belongs to cluster "${k.clusterId}", not "${cluster.config.clusterId}"`);
    const { replicas, clients, admins = [] } = cluster.config;
    const listed = (k.role === 'replica' ? replicas : k.role === 'client' ? clients : admins).find((c) => c.id === k.id);
    if (!joining) {
      if (!listed) fail(`the cluster lists no ${k.role} ${k.id}`);
      if (!bytesEqual(listed!.publicKey, k.publicKey)) fail(`the cluster lists a different public key for ${k.role} ${k.id} (unknown key)`);
    }
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    // Not fatal (the user may have reasons), but worth saying once.
    process.emitWarning(`${path} is readable by other users; chmod 600 it`);
  }
  return k;
}
