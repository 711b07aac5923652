#!/usr/bin/env node
/**
 * Builds dist/ (tsc -p tsconfig.build.json, incremental) when a file it is built from is newer
 * than the last build; otherwise does nothing in a few milliseconds. `bin/byzpax` runs dist/, so
 * `npm start`, `npm run sim|nemesis|bench` and the tests (vitest's globalSetup) call this first
 * and never run a stale build. `npm ci` and `npm pack` do a clean build (`prepare`).
 *
 * Exported for vitest's globalSetup; run as a script it builds and exits with tsc's status.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Returns tsc's exit status (0 when nothing needed building) and its output. */
export function buildIfStale() {
  if (!isStale()) return { status: 0, output: '' };
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { status, output } = buildIfStale();
  process.stdout.write(output);
  process.exitCode = status;
}
