/**
 * Before any test: rebuild dist/ if src/ changed since the last build. The end-to-end tests spawn
 * `bin/byzpax`, which runs the compiled dist/ — what a user who installed the package runs — so
 * a stale dist/ would test old code. A build with type errors still emits; its errors are shown
 * here and `npm test`'s `tsc --noEmit` fails on them.
 */
import { buildIfStale } from '../scripts/build-if-stale.mjs';

export default function setup(): void {
  const started = performance.now();
  const { status, output } = buildIfStale();
  if (output) process.stdout.write(`build (tsc -p tsconfig.build.json): ${output}`);
  if (status !== 0) process.stdout.write(`build: tsc exited ${status} after ${Math.round(performance.now() - started)} ms; dist/ may be partial\n`);
}
