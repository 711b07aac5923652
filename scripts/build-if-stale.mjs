#!/usr/bin/env node
/**
 * Builds dist/ (tsc -p tsconfig.build.json, incremental, then dts-js-specifiers.mjs) when a
 * file it is built from is newer than the last build; otherwise does nothing in a few milliseconds. `bin/byzpax` runs dist/, so
 * `npm start`, `npm run sim|nemesis|bench` and the tests (vitest's globalSetup) call this first
 * and never run a stale build. `npm ci` and `npm pack` do a clean build (`prepare`).
 *
 * An incremental build never deletes: after a source file is moved or removed, its old .js,
 * .d.ts and maps would stay in dist/ (and in a tarball packed from it), so they are pruned here.
 *
 * Exported for vitest's globalSetup; run as a script it builds and exits with tsc's status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rewriteDeclarations } from './dts-js-specifiers.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.tsbuildinfo');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted or renamed file changes its directory's mtime
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

export function isStale() {
  let built;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json'].map((p) => newestMtime(join(ROOT, p)));
  return Math.max(...inputs) > built;
}

/** Removes compiled files in dist/ whose source in src/ is gone; returns their paths. */
export function pruneOrphans(dir = join(ROOT, 'dist'), rel = '') {
  const removed = [];
  if (!existsSync(dir)) return removed;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      removed.push(...pruneOrphans(path, relPath));
      if (readdirSync(path).length === 0) rmdirSync(path);
      continue;
    }
    const base = relPath.replace(/\.(js|d\.ts)(\.map)?$/, '');
    if (base === relPath) continue; // not compiled output (e.g. .tsbuildinfo)
    if (!existsSync(join(ROOT, 'src', `${base}.ts`))) {
      rmSync(path);
      removed.push(`dist/${relPath}`);
    }
  }
  return removed;
}

/** Returns tsc's exit status (0 when nothing needed building) and its output. */
export function buildIfStale() {
  if (!isStale()) return { status: 0, output: '' };
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  rewriteDeclarations();
  const pruned = pruneOrphans();
  const note = pruned.length ? `removed ${pruned.length} compiled file(s) whose source is gone\n` : '';
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${note}` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { status, output } = buildIfStale();
  process.stdout.write(output);
  process.exitCode = status;
}
