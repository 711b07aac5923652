/**
 * Re-renders the PNG beside every SVG chart in bench/results (or the SVG files named) with the
 * chart module's renderer, without running a benchmark:
 *   npx tsx bench/render-charts.ts [file.svg ...]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgToPng } from './lib/chart.ts';

const RESULTS = join(import.meta.dirname, 'results');
const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(RESULTS).filter((f) => f.endsWith('.svg')).sort().map((f) => join(RESULTS, f));
for (const svg of files) {
  const png = svg.replace(/\.svg$/, '.png');
  writeFileSync(png, svgToPng(readFileSync(svg, 'utf8')));
  console.log(`${svg} -> ${png}`);
}
