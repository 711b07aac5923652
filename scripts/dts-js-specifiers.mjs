#!/usr/bin/env node
/**
 * tsc's rewriteRelativeImportExtensions turns `./x.ts` into `./x.js` in the emitted JavaScript
 * but not in the .d.ts files (microsoft/TypeScript#61037). TypeScript ≥ 5.0 resolves `./x.ts`
 * in a declaration file anyway, but older TypeScript and some editors do not; this rewrites the
 * relative specifiers of dist/**\/*.d.ts to `.js` like the JavaScript's. Same length, so the
 * declaration maps stay exact. Idempotent; run after every build.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
// from './x.ts' | import('../y.ts') | import './z.ts' — relative specifiers only.
const SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;

/** Rewrites every .d.ts under dir; returns how many files changed. */
export function rewriteDeclarations(dir = DIST) {
  let changed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) changed += rewriteDeclarations(path);
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      const next = text.replace(SPECIFIER, (_, lead, q, spec) => `${lead}${q}${spec}.js${q}`);
      if (next !== text) {
        writeFileSync(path, next);
        changed++;
      }
    }
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) rewriteDeclarations();
