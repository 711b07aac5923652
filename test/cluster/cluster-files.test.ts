/**
 * cluster.json and key files: what keygen writes is what replicas and clients read back, keys are
 * owner-only, nothing is overwritten without --force, and every mistake a user can make with these
 * files gets an error naming it.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterToJson, parseCluster, readClusterFile, type ClusterFileJson } from '../../src/cluster/cluster-file.ts';
import { clientKeyIn, generateCluster, generateMember, readMemberEntry, replicaKeyIn } from '../../src/cluster/generate.ts';
import { readKeyFile } from '../../src/cluster/key-file.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { Signer } from '../../src/crypto/signer.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'byzpax-keys-'));

describe('generateCluster', () => {
  const dir = fresh();
  const g = generateCluster({ dir, n: 4, clients: 2, basePort: 7500, mode: 'classic' });

  it('writes a cluster.json that parses back to the same cluster', () => {
    const c = readClusterFile(g.clusterFile);
    expect(c.config.n).toBe(4);
    expect(c.config.f).toBe(1);
    expect(c.urls).toEqual(['ws://127.0.0.1:7500', 'ws://127.0.0.1:7501', 'ws://127.0.0.1:7502', 'ws://127.0.0.1:7503']);
    expect(c.params).toEqual({ mode: 'classic', commitPolicy: 'deferred' });
    expect(clusterToJson(c)).toEqual(clusterToJson(g.cluster));
  });

  it('key files are mode 0600 and hold the keys cluster.json lists', () => {
    const c = readClusterFile(g.clusterFile);
    for (let id = 0; id < 4; id++) {
      const path = replicaKeyIn(dir, id);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const k = readKeyFile(path, c, 'replica');
      expect(toHex(new Signer(k.seed).publicKey)).toBe(toHex(c.config.replicas[id]!.publicKey));
    }
    const k = readKeyFile(clientKeyIn(dir, 1), c, 'client');
    expect(k.id).toBe(1);
    expect(toHex(k.publicKey)).toBe(toHex(c.config.clients[1]!.publicKey));
  });

  it('refuses to overwrite existing keys without force, and overwrites with it', () => {
    const before = readFileSync(replicaKeyIn(dir, 0), 'utf8');
    expect(() => generateCluster({ dir, n: 4 })).toThrow(/already exists.*--force/);
    expect(readFileSync(replicaKeyIn(dir, 0), 'utf8')).toBe(before);
    generateCluster({ dir, n: 4, force: true });
    expect(readFileSync(replicaKeyIn(dir, 0), 'utf8')).not.toBe(before);
  });

  it('refuses n < 3f+1', () => {
    expect(() => generateCluster({ dir: fresh(), n: 6, f: 2 })).toThrow('n=6 replicas cannot tolerate f=2 Byzantine faults: need n ≥ 3f+1 = 7');
  });

  it('writes an admin key, listed under admins with an id apart from the clients\'', () => {
    const c = readClusterFile(g.clusterFile);
    expect(c.config.admins?.map((a) => a.id)).toEqual([1000]);
    const admin = readKeyFile(g.adminKey, c, 'admin');
    expect(toHex(admin.publicKey)).toBe(toHex(c.config.admins![0]!.publicKey));
    expect(() => readKeyFile(g.adminKey, c, 'client')).toThrow(/this is a admin key; a client key is needed here/);
  });

  it('a fetched configuration (a later epoch, ids with gaps) and shared settings round-trip', () => {
    const c = generateCluster({ dir: fresh(), n: 4, basePort: 7500, mode: 'classic' }).cluster;
    const later = { ...c, config: { ...c.config, epoch: 5, replicas: [0, 2, 3, 9].map((id, i) => ({ ...c.config.replicas[i]!, id })) }, params: { ...c.params, checkpointInterval: 16, window: 32 } };
    const back = parseCluster(JSON.parse(JSON.stringify(clusterToJson(later))));
    expect(back.config.epoch).toBe(5);
    expect(back.config.replicas.map((r) => r.id)).toEqual([0, 2, 3, 9]);
    expect(back.config.replicas[3]!.address).toBe('ws://127.0.0.1:7503');
    expect(back.params).toEqual({ mode: 'classic', commitPolicy: 'deferred', checkpointInterval: 16, window: 32 });
  });

  it('a new member\'s key names its URL; its public entry reads back; a joining key is accepted only as joining', () => {
    const mdir = fresh();
    const c = generateCluster({ dir: mdir, n: 4, basePort: 7500 }).cluster;
    const m = generateMember({ cluster: c, dir: mdir });
    expect(m.entry.id).toBe(4);
    expect(m.entry.url).toBe('ws://127.0.0.1:7504');
    expect(readMemberEntry(m.entryFile)).toEqual(m.entry);
    expect(() => readKeyFile(m.keyFile, c, 'replica')).toThrow(/the cluster lists no replica 4/);
    expect(readKeyFile(m.keyFile, c, 'replica', true).url).toBe('ws://127.0.0.1:7504');
    expect(() => generateMember({ cluster: c, dir: mdir })).toThrow(/already exists/);
    // The id of a current member: its next key, for a rotation.
    const next = generateMember({ cluster: c, dir: mdir, id: 2 });
    expect(next.keyFile).toMatch(/replica-2\.next\.key$/);
    expect(next.entry.url).toBe('ws://127.0.0.1:7502');
  });

  it('each cluster gets its own id and fresh keys', () => {
    const other = generateCluster({ dir: fresh(), n: 4 });
    expect(other.cluster.config.clusterId).not.toBe(g.cluster.config.clusterId);
    expect(toHex(other.cluster.config.replicas[0]!.publicKey)).not.toBe(toHex(g.cluster.config.replicas[0]!.publicKey));
  });
});

describe('reading files a user got wrong', () => {
  const dir = fresh();
  const g = generateCluster({ dir, n: 4, clients: 1 });
  const json = (): ClusterFileJson => JSON.parse(readFileSync(g.clusterFile, 'utf8')) as ClusterFileJson;

  const cases: [string, (j: ClusterFileJson) => unknown, RegExp][] = [
    ['wrong format', (j) => ({ ...j, format: 'x' }), /format must be "byzpax-cluster\/v1"/],
    ['n < 3f+1', (j) => ({ ...j, f: 2 }), /need n ≥ 3f\+1/],
    ['a replica missing', (j) => ({ ...j, replicas: j.replicas.slice(0, 3) }), /lists 3 replicas but n=4/],
    ['ids out of order', (j) => ({ ...j, replicas: [j.replicas[1], j.replicas[0], j.replicas[2], j.replicas[3]] }), /replicas\[0\]\.id must be 0/],
    ['a bad URL', (j) => ({ ...j, replicas: j.replicas.map((r, i) => (i === 2 ? { ...r, url: 'http://x' } : r)) }), /replicas\[2\]\.url must be a ws:\/\/ or wss:\/\/ URL/],
    ['a short key', (j) => ({ ...j, clients: [{ id: 0, publicKey: 'abcd' }] }), /clients\[0\]\.publicKey must be 64 lowercase hex/],
    ['a key listed twice', (j) => ({ ...j, clients: [{ id: 0, publicKey: j.replicas[0]!.publicKey }] }), /a public key is listed twice/],
    ['an unknown mode', (j) => ({ ...j, mode: 'turbo' }), /mode must be "fast" or "classic"/],
    ['an admin key that is also a client key', (j) => ({ ...j, admins: [{ id: 1000, publicKey: j.clients[0]!.publicKey }] }), /a public key is listed twice/],
    ['a timer among the shared settings', (j) => ({ ...j, params: { requestTimeoutTicks: 5 } }), /params\.requestTimeoutTicks is not a setting a cluster file may hold/],
    ['a window below the checkpoint interval', (j) => ({ ...j, params: { checkpointInterval: 64, window: 32 } }), /window \(32\) must be at least checkpointInterval \(64\)/],
    ['later epoch, ids not increasing', (j) => ({ ...j, epoch: 3, replicas: [j.replicas[1], j.replicas[0], j.replicas[2], j.replicas[3]] }), /replicas\[1\]\.id must be an integer above the one before/],
  ];
  for (const [name, edit, error] of cases) {
    it(`${name}: rejected with a message naming it`, () => {
      expect(() => parseCluster(edit(json()))).toThrow(error);
    });
  }

  it('a missing cluster file and invalid JSON', () => {
    expect(() => readClusterFile(join(dir, 'nope.json'))).toThrow(/cannot read cluster file .*ENOENT/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{');
    expect(() => readClusterFile(bad)).toThrow(/not valid JSON/);
  });

  it('a key of another cluster, of the wrong role, a damaged one, and an unknown one', () => {
    const c = readClusterFile(g.clusterFile);
    const other = generateCluster({ dir: fresh(), n: 4, clients: 1 });
    expect(() => readKeyFile(other.replicaKeys[0]!, c)).toThrow(/belongs to cluster/);
    expect(() => readKeyFile(g.clientKeys[0]!, c, 'replica')).toThrow(/this is a client key; a replica key is needed here/);
    const damaged = join(dir, 'damaged.key');
    const k = JSON.parse(readFileSync(g.replicaKeys[1]!, 'utf8')) as Record<string, string>;
    writeFileSync(damaged, JSON.stringify({ ...k, publicKey: k.publicKey!.replace(/^./, (ch) => (ch === '0' ? '1' : '0')) }), { mode: 0o600 });
    expect(() => readKeyFile(damaged, c)).toThrow(/publicKey does not match the seed/);
    // Same cluster id, same role and id, but a key cluster.json does not list.
    const foreign = join(dir, 'foreign.key');
    const o = JSON.parse(readFileSync(other.replicaKeys[1]!, 'utf8')) as Record<string, string>;
    writeFileSync(foreign, JSON.stringify({ ...o, clusterId: c.config.clusterId }), { mode: 0o600 });
    expect(() => readKeyFile(foreign, c)).toThrow(/lists a different public key for replica 1/);
    expect(() => readKeyFile(join(dir, 'missing.key'))).toThrow(/cannot read key file \(ENOENT\)/);
  });
});
