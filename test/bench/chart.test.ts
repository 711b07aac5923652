import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { lineChart, PALETTE, toPng, toSvg, type ChartSpec } from '../../bench/lib/chart.ts';

/** A small PNG decoder (8-bit RGB or RGBA, no interlace), independent of the renderer under test. */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      colorType = data[9]!;
      expect([2, 6]).toContain(colorType);
      expect(data[12]).toBe(0); // no interlace
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  expect(raw.length).toBe(height * (stride + 1));
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= bpp ? out[y * stride + x - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = out[i * bpp]!;
    rgba[i * 4 + 1] = out[i * bpp + 1]!;
    rgba[i * 4 + 2] = out[i * bpp + 2]!;
    rgba[i * 4 + 3] = bpp === 4 ? out[i * bpp + 3]! : 255;
  }
  return { width, height, rgba };
}

const spec: ChartSpec = {
  title: 'byzpax benchmark: latency vs throughput',
  subtitle: 'a test chart',
  xLabel: 'throughput (operations/s)',
  yLabel: 'p50 latency (ms, log scale)',
  yLog: true,
  width: 800,
  height: 500,
  series: [
    { name: 'fast n=4', color: PALETTE[0]!, marker: 'circle', points: [{ x: 100, y: 10, label: '1' }, { x: 300, y: 20, label: '4' }, { x: 500, y: 80, label: '16' }] },
    { name: 'classic n=4', color: PALETTE[1]!, marker: 'square', dash: 6, points: [{ x: 80, y: 15 }, { x: 250, y: 40 }, { x: 400, y: 120 }] },
  ],
};

describe('bench chart', () => {
  it('writes an SVG with the labels as text', () => {
    const svg = toSvg(lineChart(spec));
    expect(svg).toMatch(/^<svg [^>]*width="800" height="500"/);
    expect(svg).toContain('>byzpax benchmark: latency vs throughput</text>');
    expect(svg).toContain('>fast n=4</text>');
  });

  it('renders a PNG that decodes with the chart size, is not blank and carries the title text', () => {
    const scene = lineChart(spec);
    const { width, height, rgba } = decodePng(toPng(scene));
    expect([width, height]).toEqual([800, 500]);
    const at = (x: number, y: number) => [rgba[(y * width + x) * 4]!, rgba[(y * width + x) * 4 + 1]!, rgba[(y * width + x) * 4 + 2]!];
    // The background is #f7f7f7 and fully opaque.
    expect(at(2, 2)).toEqual([0xf7, 0xf7, 0xf7]);
    const colours = new Set<number>();
    let ink = 0;
    for (let i = 0; i < width * height; i++) {
      const [r, g, b] = [rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (r !== 0xf7 || g !== 0xf7 || b !== 0xf7) ink++;
    }
    expect(colours.size).toBeGreaterThan(50);
    expect(ink / (width * height)).toBeGreaterThan(0.2);
    // The title (bold, #111111, 21 px at x=86, top y=14) is drawn: dark pixels in its box, so a font was found.
    let dark = 0;
    for (let y = 14; y < 40; y++) for (let x = 86; x < 500; x++) if (at(x, y).every((v) => v < 0x60)) dark++;
    expect(dark).toBeGreaterThan(500);
    // And the series colour shows up (the first series' line or markers).
    const [pr, pg, pb] = [0x1f, 0x77, 0xb4];
    let series = 0;
    for (let i = 0; i < width * height; i++) if (rgba[i * 4] === pr && rgba[i * 4 + 1] === pg && rgba[i * 4 + 2] === pb) series++;
    expect(series).toBeGreaterThan(20);
  });
});
