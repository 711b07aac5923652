/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project without
 * the network, then use it from plain `node` (no tsx, no loader): import the client, import the
 * pure core without lmdb/ws/pino, type-check a consumer against the .d.ts files, run the
 * installed `byzpax keygen` and `byzpax up` (4 replica processes started by the installed
 * package) and commit a put and a get through the installed client library and CLI.
 *
 * dist/ is built by vitest's globalSetup (test/global-setup.ts), so `npm pack` runs with
 * --ignore-scripts instead of `prepare`'s clean rebuild; the tarball check below makes sure no
 * stale file from an earlier build slipped in.
 *
 * No network: the empty project gets a lock file made from byzpax's own (its production
 * entries, the versions this tree is tested with, and the same cbor-extract override) and
 * `npm ci --offline` takes every dependency from the npm cache that `npm ci` filled here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../../src/cluster/free-ports.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  overrides?: Record<string, string>;
  exports: Record<string, string | { types: string; import: string }>;
};
const work = mkdtempSync(join(tmpdir(), 'byzpax-pkg-'));
const app = join(work, 'app');
const BIN = join(app, 'node_modules', '.bin', 'byzpax');

/** Every process this file starts runs in its own process group, killed whole at the end. */
const children = new Set<ChildProcess>();

/** The environment of a user's shell: none of npm's or vitest's variables, no NODE_OPTIONS. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|VITEST|NODE_OPTIONS$|NODE_V8_COVERAGE$|TSX_)/i.test(k)),
);
env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(cmd: string, args: string[], cwd: string): ChildProcess {
  const p = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.on('exit', () => children.delete(p));
  return p;
}

function run(cmd: string, args: string[], cwd = app, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = start(cmd, args, cwd);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => killGroup(p), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const node = (args: string[], cwd = app) => run(process.execPath, args, cwd);
const npm = (args: string[], cwd = app) => run('npm', args, cwd, 120_000);
const show = (r: Run) => `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function killGroup(p: ChildProcess): void {
  try {
    if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Pids of processes whose command line names this test's directory (replicas included). */
function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(() => {
  for (const p of children) killGroup(p);
  for (const pid of processesIn(work)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  let tarball = '';

  it('npm pack: dist (current, no build info), src, bin, README and package.json; no tests, bench or fixtures', async () => {
    const r = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
    expect(r.code, show(r)).toBe(0);
    const [info] = JSON.parse(r.stdout) as { filename: string; entryCount: number; unpackedSize: number; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    const files = info!.files.map((f) => f.path);
    const top = new Set(files.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['README.md', 'bin', 'dist', 'package.json', 'src']);
    expect(files.filter((f) => /\.test\.ts$|tsbuildinfo|fixtures|results/.test(f))).toEqual([]);
    for (const target of Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.types, e.import]))) {
      expect(files, target).toContain(target.replace(/^\.\//, ''));
    }
    expect(files).toContain('dist/cli/main.js');
    // Every compiled file comes from a source file that still exists: no leftovers of an old build.
    const sources = new Set(files.filter((f) => f.startsWith('src/')).map((f) => f.slice(4).replace(/\.ts$/, '')));
    const orphans = files.filter((f) => f.startsWith('dist/')).filter((f) => !sources.has(f.slice(5).replace(/\.(js|d\.ts)(\.map)?$/, '')));
    expect(orphans).toEqual([]);
    console.log(`tarball: ${info!.entryCount} files, ${(info!.unpackedSize / 1e6).toFixed(2)} MB unpacked`);
  });

  it('installs into an empty project with no network (npm ci --offline from the npm cache); no tsx or esbuild comes along', async () => {
    mkdirSync(app, { recursive: true });
    const name = 'byzpax.tgz';
    copyFileSync(tarball, join(app, name));
    const spec = `file:${name}`;
    const overrides = pkg.overrides ?? {};
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { byzpax: spec }, overrides }, null, 2));
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const packages: Record<string, unknown> = {
      '': { name: 'app', dependencies: { byzpax: spec }, overrides },
      'node_modules/byzpax': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
    };
    for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));

    const r = await npm(['ci', '--offline', '--no-audit', '--no-fund']);
    expect(r.code, show(r)).toBe(0);
    expect(existsSync(BIN)).toBe(true);
    for (const devOnly of ['tsx', 'esbuild', 'typescript', 'vitest']) expect(existsSync(join(app, 'node_modules', devOnly)), devOnly).toBe(false);
  });

  it('the types: publint --strict and arethetypeswrong (ESM) pass; a consumer type-checks against every subpath (NodeNext, strict, skipLibCheck off)', async () => {
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'));
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { Client, readClusterFile, readKeyFile, generateCluster, type Answer } from 'byzpax';
import { Replica, quorums, type ClusterConfig, SignatureVerifier } from 'byzpax/core';
import { encodeMessage } from 'byzpax/codec';
import { sha256 } from 'byzpax/crypto';
import { KvStore, type KvResult } from 'byzpax/app';
import { checkOperations, kvModel } from 'byzpax/check';
import { ReplicaServer, ReplicaProcesses, openLmdbStorage } from 'byzpax/server';
import { Simulation, runSweep } from 'byzpax/sim';
import { strategyNames, runNemesis } from 'byzpax/faults';

export async function use(dir: string): Promise<string | null> {
  const cluster = readClusterFile(dir + '/cluster.json');
  const c = await Client.connect({ cluster, key: readKeyFile(dir + '/client-0.key', cluster, 'client') });
  const q: number = quorums(4, 1).q;
  const config: ClusterConfig = cluster.config;
  const result: KvResult | undefined = undefined as Answer['result'] | undefined;
  void [Replica, generateCluster, SignatureVerifier, encodeMessage, sha256, KvStore, checkOperations, kvModel, ReplicaServer, ReplicaProcesses, openLmdbStorage, Simulation, runSweep, strategyNames, runNemesis, config, q, result];
  const previous = await c.put('k', 'v');
  await c.close();
  return previous;
}
// @ts-expect-error -- not exported: deep imports outside the exports map are refused
import type {} from 'byzpax/dist/core/replica.js';
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
    const [publint, attw, tsc] = await Promise.all([
      run(bin('publint'), ['run', '--strict', tarball], work),
      run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], work),
      node([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']),
    ]);
    expect(publint.code, show(publint)).toBe(0);
    expect(publint.stdout).toMatch(/All good/);
    expect(attw.code, show(attw)).toBe(0); // non-zero on any problem outside the ignored node10/require() columns
    for (const subpath of Object.keys(pkg.exports)) expect(attw.stdout).toContain(`"${subpath.replace(/^\./, pkg.name)}"`);
    expect(tsc.code, show(tsc)).toBe(0);
    // The declarations name their neighbours as .js, like the JavaScript (scripts/dts-js-specifiers.mjs).
    const dts = (readdirSync(join(app, 'node_modules', 'byzpax', 'dist'), { recursive: true }) as string[]).filter((f) => f.endsWith('.d.ts'));
    expect(dts.length).toBeGreaterThan(50);
    const tsSpecifiers = dts.filter((f) => /(from|import)\s*\(?\s*['"]\.\.?\/[^'"]*\.ts['"]/.test(readFileSync(join(app, 'node_modules', 'byzpax', 'dist', f), 'utf8')));
    expect(tsSpecifiers).toEqual([]);
  });

  it("plain node imports 'byzpax': the client, cluster and key files, generate", async () => {
    const r = await node(['-e', "import('byzpax').then((m) => console.log(JSON.stringify(Object.keys(m))))"]);
    expect(r.code, show(r)).toBe(0);
    const keys = JSON.parse(r.stdout) as string[];
    console.log(`import('byzpax'): ${keys.join(', ')}`);
    expect(keys).toEqual(expect.arrayContaining(['Client', 'ClientError', 'readClusterFile', 'readKeyFile', 'generateCluster', 'SignatureVerifier']));
    expect(keys).not.toContain('Replica');
  });

  it("byzpax/core, sim, codec, crypto, app, check load no lmdb, ws or pino; 'byzpax' no lmdb or pino; the check catches server loading them", async () => {
    // A module-resolution hook that throws on the named packages: the import fails if one loads.
    const forbid = (file: string, packages: string[]) => {
      const hook = `export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        const m = /\\/node_modules\\/(${packages.join('|')})\\//.exec(r.url);
        if (m) throw new Error('forbidden: ' + m[1] + ' (imported by ' + context.parentURL + ')');
        return r;
      }`;
      writeFileSync(join(app, file), `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});\n`);
      return `./${file}`;
    };
    const noIo = forbid('forbid-io.mjs', ['lmdb', 'ws', 'pino']);
    const noStorage = forbid('forbid-storage.mjs', ['lmdb', 'pino']);
    const load = (hook: string, entry: string) =>
      node(['--import', hook, '-e', `import(${JSON.stringify(entry)}).then((m) => console.log(Object.keys(m).length))`]);
    const cases: [string, string][] = [
      ...['byzpax/core', 'byzpax/sim', 'byzpax/codec', 'byzpax/crypto', 'byzpax/app', 'byzpax/check'].map((e): [string, string] => [noIo, e]),
      [noStorage, 'byzpax'],
    ];
    const [server, clientUnderNoIo, ...results] = await Promise.all([load(noIo, 'byzpax/server'), load(noIo, 'byzpax'), ...cases.map(([hook, entry]) => load(hook, entry))]);
    cases.forEach(([hook, entry], i) => {
      expect(results[i]!.code, `${entry} under ${hook}: ${show(results[i]!)}`).toBe(0);
      expect(Number(results[i]!.stdout)).toBeGreaterThan(0);
    });
    // The hook does catch what loads: the server entry loads lmdb, the client ws.
    expect(server!.code).not.toBe(0);
    expect(server!.stderr).toMatch(/forbidden: (lmdb|ws)/);
    expect(clientUnderNoIo!.code).not.toBe(0);
    expect(clientUnderNoIo!.stderr).toMatch(/forbidden: ws/);
    // …and without the hook the server entry loads.
    const plain = await node(['-e', "import('byzpax/server').then((m) => console.log(typeof m.ReplicaServer, typeof m.openLmdbStorage))"]);
    expect(plain.code, show(plain)).toBe(0);
    expect(plain.stdout.trim()).toBe('function function');
  });

  it('the installed bin: keygen, then up (4 replica processes), a put and a get through the installed client library and CLI', async () => {
    const base = await freePortRange(4);
    const keygen = await run(BIN, ['keygen', '--n', '4', '--dir', 'keys', '--base-port', String(base)]);
    expect(keygen.code, show(keygen)).toBe(0);
    for (const f of ['cluster.json', 'replica-0.key', 'replica-3.key', 'client-0.key', 'client-1.key']) expect(existsSync(join(app, 'keys', f)), f).toBe(true);

    const up = start(BIN, ['up', '--dir', join(app, 'keys'), '--data', join(app, 'data')], app);
    let upOut = '';
    up.stdout!.on('data', (d: Buffer) => (upOut += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (upOut += d.toString()));
    const upExit = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 45_000;
      while (!/R3 {2}epoch \d+ {2}view \d+/.test(upOut) && up.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(upOut).toMatch(/R3 {2}epoch \d+ {2}view \d+/);
      expect(processesIn(join(app, 'data', 'replica-')), 'replica processes').toHaveLength(4);

      writeFileSync(
        join(app, 'client.mjs'),
        `import { Client, readClusterFile, readKeyFile } from 'byzpax';
const cluster = readClusterFile('keys/cluster.json');
const c = await Client.connect({ cluster, key: readKeyFile('keys/client-0.key', cluster, 'client') });
const previous = await c.put('greeting', 'hello from the tarball');
const value = await c.get('greeting');
await c.close();
console.log(JSON.stringify({ previous, value }));
`,
      );
      const lib = await node(['client.mjs']);
      expect(lib.code, `${show(lib)}\n--- up\n${upOut}`).toBe(0);
      expect(JSON.parse(lib.stdout)).toEqual({ previous: null, value: 'hello from the tarball' });

      const cli = await run(BIN, ['client', '--cluster', 'keys/cluster.json', '--key', 'keys/client-1.key', 'get', 'greeting']);
      expect(cli.code, show(cli)).toBe(0);
      expect(cli.stdout).toBe('hello from the tarball\n');
    } finally {
      up.kill('SIGTERM');
    }
    expect(await upExit).toBe(0);
    expect(processesIn(app)).toEqual([]);
  });
});
