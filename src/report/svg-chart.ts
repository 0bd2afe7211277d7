import { escapeHtml, truncate } from './escape.js';

/** One line of a chart: a name and one value per x position. */
export interface ChartSeries {
  name: string;
  values: readonly number[];
}

export interface LineChart {
  /** An id unique in the page (used for the accessible title). */
  id: string;
  title: string;
  /** One label per x position (snapshot labels). */
  xLabels: readonly string[];
  series: readonly ChartSeries[];
}

/** Colours of the series, in order (then again, dashed). */
export const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const WIDTH = 720;
const HEIGHT = 280;
const LEFT = 56;
const RIGHT = 24;
const TOP = 16;
const BOTTOM = 44;

/**
 * An inline SVG line chart (no script, no external resource): one
 * `<g class="series" data-name="…">` per series with a polyline and a point
 * per x position, each point titled with its exact value; a y axis from 0
 * with round ticks; x labels cut to 18 characters (the full label in a title).
 * Every name and label is escaped.
 */
export function renderLineChart(chart: LineChart): string {
  const n = chart.xLabels.length;
  const max = Math.max(0, ...chart.series.flatMap((s) => s.values));
  const step = niceStep(max);
  const yMax = Math.max(step, Math.ceil(max / step) * step);
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const x = (i: number) => round(n <= 1 ? LEFT + plotW / 2 : LEFT + (plotW * i) / (n - 1));
  const y = (v: number) => round(TOP + plotH * (1 - v / yMax));

  const parts: string[] = [];
  parts.push(`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${chart.id}-title" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<title id="${chart.id}-title">${escapeHtml(chart.title)}</title>`);
  parts.push('<g class="axis">');
  for (let v = 0; v <= yMax; v += step) {
    parts.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(v)}" y2="${y(v)}"/>`);
    parts.push(`<text class="tick" x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  for (const [i, label] of chart.xLabels.entries()) {
    parts.push(`<text class="tick" x="${x(i)}" y="${HEIGHT - BOTTOM + 18}" text-anchor="${n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle'}"><title>${escapeHtml(label)}</title>${escapeHtml(truncate(label, 18))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${LEFT + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle">snapshot</text>`);
  parts.push(`<text class="axis-label" transform="translate(14 ${TOP + plotH / 2}) rotate(-90)" text-anchor="middle">live</text>`);
  parts.push('</g>');
  for (const [k, s] of chart.series.entries()) {
    const points = s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    parts.push(`<g class="series ${seriesClass(k)}" data-name="${escapeHtml(s.name)}">`);
    parts.push(`<title>${escapeHtml(s.name)}</title>`);
    parts.push(`<polyline points="${points}"/>`);
    for (const [i, v] of s.values.entries()) {
      parts.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3.5"><title>${escapeHtml(`${s.name} · ${chart.xLabels[i] ?? ''}: ${v}`)}</title></circle>`);
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** The CSS class of the k-th series (s0..s9, then dashed d10..). */
export function seriesClass(k: number): string {
  return `s${k % PALETTE.length}${k >= PALETTE.length ? ' dashed' : ''}`;
}

/** Style rules for the series classes. */
export function chartStyles(): string {
  return PALETTE.map((color, k) => `.s${k}{stroke:${color};fill:${color};background:${color}}`).join('\n');
}

/** 1, 2 or 5 × 10^k, so about four ticks cover `max`; at least 1 (counts are whole). */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  return Math.max(1, step);
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
