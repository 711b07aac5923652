/**
 * The layer rules of .dependency-cruiser.cjs hold for src/, and they can fail: the same rules run
 * over a small tree with one violation of each kind and must name every one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: string;
  from: string;
  to: string;
}

function cruise(cwd: string): Violation[] {
  const out = execFileSync(depcruise, ['src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const result = JSON.parse(out) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('layers', () => {
  it('src/ has no violation of the layer rules', () => {
    expect(cruise(root)).toEqual([]);
  });

  const fixture = mkdtempSync(join(tmpdir(), 'byzpax-layers-'));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('every rule fires on a tree that breaks it', () => {
    const files: Record<string, string> = {
      'src/crypto/hash.ts': 'export const h = 1;\n',
      // core reaching up into the server, and into the file system
      'src/core/replica.ts': "import { s } from '../server/server.ts';\nimport { readFileSync } from 'node:fs';\nexport const r = [s, readFileSync];\n",
      'src/server/server.ts': "import { h } from '../crypto/hash.ts';\nexport const s = h;\n",
      // net importing the core
      'src/net/link.ts': "import { r } from '../core/replica.ts';\nexport const l = r;\n",
      // a cycle inside one folder
      'src/codec/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/codec/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      // a folder with no place in the layer list
      'src/misc/thing.ts': "import { h } from '../crypto/hash.ts';\nexport const t = h;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(fixture, path)), { recursive: true });
      writeFileSync(join(fixture, path), text);
    }
    copyFileSync(join(root, 'tsconfig.json'), join(fixture, 'tsconfig.json'));
    const found = cruise(fixture).map((v) => `${v.rule}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual(
      [
        'core-is-pure: src/core/replica.ts → fs',
        'layer-core: src/core/replica.ts → src/server/server.ts',
        'layer-net: src/net/link.ts → src/core/replica.ts',
        'no-cycles: src/codec/a.ts → src/codec/b.ts',
        'no-unknown-folder: src/misc/thing.ts → src/crypto/hash.ts',
      ].sort(),
    );
  });
});
