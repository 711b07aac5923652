/**
 * Line charts as a list of drawing primitives, written as SVG (text, scalable); the PNG is that
 * SVG rendered by resvg (@resvg/resvg-js: prebuilt binaries as npm platform packages, no
 * browser, no build step) with a DejaVu font from npm.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';

export type Color = string; // '#rrggbb'

export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: Color; stroke?: Color; width?: number }
  | { kind: 'line'; points: [number, number][]; color: Color; width: number; dash?: number }
  | { kind: 'marker'; x: number; y: number; r: number; color: Color; shape: 'circle' | 'square' | 'triangle' }
  /** `size`: font size in pixels; `y` is the top of the text. */
  | { kind: 'text'; x: number; y: number; text: string; size: number; color: Color; anchor?: 'start' | 'middle' | 'end'; vertical?: boolean; bold?: boolean };

export interface Scene {
  width: number;
  height: number;
  background: Color;
  shapes: Shape[];
}

export interface Series {
  name: string;
  color: Color;
  dash?: number;
  marker?: 'circle' | 'square' | 'triangle';
  points: { x: number; y: number; label?: string }[];
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  yLog?: boolean;
  /** Start the y axis at 0 (linear axes only). */
  yFromZero?: boolean;
  series: Series[];
  width?: number;
  height?: number;
}

export const PALETTE: Color[] = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#637939'];

/** Roughly 5 "nice" ticks between lo and hi. */
function linearTicks(lo: number, hi: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 10_000) return `${Math.round(v / 1000)}k`;
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  if (Math.abs(v) >= 1) return String(Math.round(v * 100) / 100);
  return String(Number(v.toPrecision(2)));
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** Lays a chart out as shapes: plot area, grid, axes with ticks and labels, series, legend on the right. */
export function lineChart(spec: ChartSpec): Scene {
  const width = spec.width ?? 1100;
  const height = spec.height ?? 680;
  const legendW = 300;
  // The subtitle wraps at the chart's width (12 px per character at size 14).
  const subtitle = spec.subtitle ? wrap(spec.subtitle, Math.floor((width - 86 - 10) / 12)) : [];
  const m = { left: 86, right: legendW + 24, top: 56 + subtitle.length * 20, bottom: 70 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const shapes: Shape[] = [];
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.yLog || p.y > 0));
  let xMax = Math.max(1, ...pts.map((p) => p.x));
  let xMin = 0;
  let yMin = Math.min(...pts.map((p) => p.y));
  let yMax = Math.max(...pts.map((p) => p.y));
  if (!pts.length) {
    yMin = spec.yLog ? 1 : 0;
    yMax = 10;
  }
  let yTicks: number[];
  let ty: (v: number) => number;
  if (spec.yLog) {
    // Half-decade bounds with some room below the lowest point and above the highest.
    yMin = Math.max(1e-3, 10 ** (Math.floor(Math.log10(Math.max(1e-3, yMin / 1.25)) * 2) / 2));
    yMax = 10 ** (Math.ceil(Math.log10(Math.max(yMax * 1.25, yMin * 10)) * 2) / 2);
    yTicks = logTicks(yMin, yMax);
    const l0 = Math.log10(yMin);
    const l1 = Math.log10(yMax);
    ty = (v) => m.top + ph - ((Math.log10(v) - l0) / (l1 - l0)) * ph;
  } else {
    if (spec.yFromZero) yMin = Math.min(0, yMin);
    const pad = (yMax - yMin) * 0.08 || Math.abs(yMax) * 0.1 || 1;
    yMax += pad;
    if (!spec.yFromZero) yMin -= pad;
    yTicks = linearTicks(yMin, yMax);
    yMin = Math.min(yMin, yTicks[0] ?? yMin);
    yMax = Math.max(yMax, yTicks[yTicks.length - 1] ?? yMax);
    ty = (v) => m.top + ph - ((v - yMin) / (yMax - yMin)) * ph;
  }
  const xTicks = linearTicks(xMin, xMax * 1.05);
  xMax = Math.max(xMax * 1.05, xTicks[xTicks.length - 1] ?? xMax);
  xMin = Math.min(xMin, xTicks[0] ?? 0);
  const tx = (v: number) => m.left + ((v - xMin) / (xMax - xMin)) * pw;

  shapes.push({ kind: 'text', x: m.left, y: 14, text: spec.title, size: 21, color: '#111111', bold: true });
  subtitle.forEach((line, i) => shapes.push({ kind: 'text', x: m.left, y: 44 + i * 20, text: line, size: 14, color: '#444444' }));
  shapes.push({ kind: 'rect', x: m.left, y: m.top, w: pw, h: ph, fill: '#ffffff', stroke: '#888888', width: 1 });
  for (const v of yTicks) {
    const y = ty(v);
    shapes.push({ kind: 'line', points: [[m.left, y], [m.left + pw, y]], color: '#e4e4e4', width: 1 });
    shapes.push({ kind: 'line', points: [[m.left - 5, y], [m.left, y]], color: '#555555', width: 1 });
    shapes.push({ kind: 'text', x: m.left - 9, y: y - 7, text: fmtTick(v), size: 14, color: '#333333', anchor: 'end' });
  }
  for (const v of xTicks) {
    const x = tx(v);
    shapes.push({ kind: 'line', points: [[x, m.top], [x, m.top + ph]], color: '#eeeeee', width: 1 });
    shapes.push({ kind: 'line', points: [[x, m.top + ph], [x, m.top + ph + 5]], color: '#555555', width: 1 });
    shapes.push({ kind: 'text', x, y: m.top + ph + 10, text: fmtTick(v), size: 14, color: '#333333', anchor: 'middle' });
  }
  shapes.push({ kind: 'text', x: m.left + pw / 2, y: height - 30, text: spec.xLabel, size: 14, color: '#111111', anchor: 'middle' });
  shapes.push({ kind: 'text', x: 18, y: m.top + ph / 2, text: spec.yLabel, size: 14, color: '#111111', anchor: 'middle', vertical: true });

  const clampY = (y: number) => Math.max(m.top, Math.min(m.top + ph, y));
  for (const s of spec.series) {
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.yLog || p.y > 0)).sort((a, b) => a.x - b.x);
    if (ps.length > 1) shapes.push({ kind: 'line', points: ps.map((p) => [tx(p.x), clampY(ty(p.y))]), color: s.color, width: 2.5, ...(s.dash ? { dash: s.dash } : {}) });
    if (s.marker) for (const p of ps) shapes.push({ kind: 'marker', x: tx(p.x), y: clampY(ty(p.y)), r: 4.5, color: s.color, shape: s.marker });
    for (const p of ps) if (p.label) shapes.push({ kind: 'text', x: tx(p.x) + 6, y: clampY(ty(p.y)) - 16, text: p.label, size: 10.5, color: s.color });
  }

  // Legend.
  const lx = width - legendW - 8;
  let ly = m.top;
  const rowH = 24;
  shapes.push({ kind: 'rect', x: lx - 8, y: ly - 8, w: legendW, h: spec.series.length * rowH + 12, fill: '#fafafa', stroke: '#cccccc', width: 1 });
  for (const s of spec.series) {
    shapes.push({ kind: 'line', points: [[lx, ly + 7], [lx + 34, ly + 7]], color: s.color, width: 2.5, ...(s.dash ? { dash: s.dash } : {}) });
    if (s.marker) shapes.push({ kind: 'marker', x: lx + 17, y: ly + 7, r: 4.5, color: s.color, shape: s.marker });
    shapes.push({ kind: 'text', x: lx + 44, y: ly, text: s.name, size: 14, color: '#222222' });
    ly += rowH;
  }
  return { width, height, background: '#f7f7f7', shapes };
}

// ------------------------------------------------------------------------------------------
// SVG

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toSvg(scene: Scene): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">`,
    `<rect width="100%" height="100%" fill="${scene.background}"/>`,
  ];
  const r = (v: number) => Math.round(v * 10) / 10;
  for (const s of scene.shapes) {
    switch (s.kind) {
      case 'rect':
        out.push(`<rect x="${r(s.x)}" y="${r(s.y)}" width="${r(s.w)}" height="${r(s.h)}" fill="${s.fill ?? 'none'}"${s.stroke ? ` stroke="${s.stroke}" stroke-width="${s.width ?? 1}"` : ''}/>`);
        break;
      case 'line':
        out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-linejoin="round" stroke-linecap="round"${s.dash ? ` stroke-dasharray="${s.dash} ${s.dash}"` : ''} points="${s.points.map(([x, y]) => `${r(x)},${r(y)}`).join(' ')}"/>`);
        break;
      case 'marker':
        if (s.shape === 'circle') out.push(`<circle cx="${r(s.x)}" cy="${r(s.y)}" r="${s.r}" fill="${s.color}"/>`);
        else if (s.shape === 'square') out.push(`<rect x="${r(s.x - s.r)}" y="${r(s.y - s.r)}" width="${2 * s.r}" height="${2 * s.r}" fill="${s.color}"/>`);
        else out.push(`<polygon points="${r(s.x)},${r(s.y - s.r * 1.2)} ${r(s.x + s.r * 1.1)},${r(s.y + s.r * 0.8)} ${r(s.x - s.r * 1.1)},${r(s.y + s.r * 0.8)}" fill="${s.color}"/>`);
        break;
      case 'text': {
        const anchor = s.anchor ?? 'start';
        // Our layout gives the top of the text; SVG wants the baseline.
        if (s.vertical) out.push(`<text x="${r(s.x + s.size)}" y="${r(s.y)}" font-size="${s.size}" fill="${s.color}" text-anchor="${anchor}" transform="rotate(-90 ${r(s.x + s.size)} ${r(s.y)})">${esc(s.text)}</text>`);
        else out.push(`<text x="${r(s.x)}" y="${r(s.y + s.size * 0.9)}" font-size="${s.size}"${s.bold ? ' font-weight="bold"' : ''} fill="${s.color}" text-anchor="${anchor}">${esc(s.text)}</text>`);
        break;
      }
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------
// PNG

/**
 * The fonts the PNG is drawn with: DejaVu Sans Mono (regular and bold) from the dejavu-fonts-ttf
 * package, not the system's, so a chart renders the same on a fresh machine with no fonts
 * installed as on a workstation (where the SVG's fallbacks, Menlo or Consolas, would differ).
 */
function fontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSansMono.ttf', 'DejaVuSansMono-Bold.ttf'].map((f) => join(dir, f));
}

/** Renders an SVG document (as toSvg writes it) to PNG bytes with resvg. */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'DejaVu Sans Mono', monospaceFamily: 'DejaVu Sans Mono' },
    logLevel: 'error',
  });
  return resvg.render().asPng();
}

export function toPng(scene: Scene): Buffer {
  return svgToPng(toSvg(scene));
}

export function writeChart(scene: Scene, basePath: string): { svg: string; png: string } {
  const svg = `${basePath}.svg`;
  const png = `${basePath}.png`;
  writeFileSync(svg, toSvg(scene));
  writeFileSync(png, toPng(scene));
  return { svg, png };
}
