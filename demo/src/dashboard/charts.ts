/**
 * The dashboard's charts, all drawn by uPlot (~50 KB minified, canvas, built for large time series and fast
 * redraws; no dependencies). Each helper takes plain arrays, draws into a container with axes that carry units,
 * a legend, and records how many points it drew in `data-points` (the end-to-end test reads it, beside the
 * canvas's pixels). Categories (titles, artworks, experiments) sit on an index axis labelled by name.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#e50914', '#4ea1ff', '#f5c518', '#46d369', '#c77dff', '#ff8c42', '#2ec4b6', '#aaaaaa'];
const AXIS = { stroke: '#bbb', grid: { stroke: '#2a2a2a' }, ticks: { stroke: '#444' } };
export const color = (i: number) => PALETTE[i % PALETTE.length]!;

const charts = new Map<HTMLElement, uPlot>();

function mount(el: HTMLElement, opts: Omit<uPlot.Options, 'width'>, data: uPlot.AlignedData, points: number): uPlot {
  charts.get(el)?.destroy();
  el.replaceChildren();
  delete el.dataset.drawn;
  const plot = new uPlot({ ...opts, width: Math.max(320, el.clientWidth || 600), height: opts.height }, data, el);
  charts.set(el, plot);
  el.dataset.points = String(points);
  return plot;
}

/** Shows a sentence in place of a chart: an empty store, a missing route, a refused token. */
export function emptyState(el: HTMLElement, message: string): void {
  charts.get(el)?.destroy();
  charts.delete(el);
  const p = document.createElement('p');
  p.className = 'empty-state';
  p.textContent = message;
  el.replaceChildren(p);
  el.dataset.points = '0';
  delete el.dataset.drawn;
}

const shortLabel = (s: string, n = 16) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export interface LineSeries {
  label: string;
  values: (number | null)[];
  /** Right-hand axis (its own unit). */
  right?: boolean;
  bars?: boolean;
}

/** Values over time: x in seconds since epoch. */
export function timeChart(el: HTMLElement, x: number[], series: LineSeries[], units: { left: string; right?: string }, height = 260): void {
  const hasRight = series.some((s) => s.right);
  mount(
    el,
    {
      height,
      series: [
        { label: 'time' },
        ...series.map((s, i) => ({
          label: s.label,
          scale: s.right ? 'right' : 'left',
          stroke: color(i),
          fill: s.bars ? `${color(i)}88` : `${color(i)}22`,
          width: 2,
          paths: s.bars ? uPlot.paths.bars!({ size: [0.8] }) : undefined,
          points: { show: !s.bars && x.length < 60 },
        })),
      ],
      axes: [
        { ...AXIS },
        { ...AXIS, scale: 'left', label: units.left, size: 70 },
        ...(hasRight ? [{ ...AXIS, scale: 'right', side: 1 as const, label: units.right, grid: { show: false }, size: 60 }] : []),
      ],
      scales: { x: { time: true }, left: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }, right: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    },
    [x, ...series.map((s) => s.values)],
    x.length,
  );
}

/** Bars per category (titles), one or more series side by side. */
export function categoryBars(el: HTMLElement, names: string[], series: { label: string; values: number[] }[], unit: string, height = 280): void {
  const x = names.map((_, i) => i);
  const n = series.length;
  mount(
    el,
    {
      height,
      series: [
        { label: 'title', value: (_u, v) => (v === null ? '' : names[v] ?? '') },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: color(i),
          fill: `${color(i)}cc`,
          width: 0,
          paths: uPlot.paths.bars!({ size: [0.8 / n, 60], align: (n === 1 ? 0 : i === 0 ? 1 : -1) as 0 | 1 | -1 }),
          points: { show: false },
        })),
      ],
      axes: [
        { ...AXIS, splits: () => x, values: (_u, ticks) => ticks.map((t) => shortLabel(names[t] ?? '')), rotate: -30, size: 90, gap: 4 } as uPlot.Axis,
        { ...AXIS, label: unit, size: 60 },
      ],
      scales: { x: { time: false, range: [-0.6, names.length - 0.4] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    },
    [x, ...series.map((s) => s.values)],
    names.length,
  );
}

export interface Interval {
  name: string;
  value: number;
  low: number;
  high: number;
}

/**
 * Estimates with intervals: a point and a whisker per category. `zero` draws a reference line (a forest plot of
 * differences uses 0: no effect). Each draw records what it drew in `data-drawn` (JSON: per item its values and the
 * canvas y, in CSS pixels, of the point and of the whisker's ends; `zeroY` for the reference line), so a test can
 * read the plotted data back rather than trusting that a canvas exists.
 */
export function intervalChart(el: HTMLElement, items: Interval[], labels: { value: string; interval: string; unit: string }, opts: { zero?: boolean; height?: number } = {}): void {
  const x = items.map((_, i) => i);
  const whiskers = (u: uPlot) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = color(1);
    ctx.lineWidth = 2 * devicePixelRatio;
    const drawn: { items: (Interval & { y: number; yLow: number; yHigh: number })[]; zeroY?: number } = { items: [] };
    items.forEach((it, i) => {
      const cx = u.valToPos(i, 'x', true);
      const y0 = u.valToPos(it.low, 'y', true);
      const y1 = u.valToPos(it.high, 'y', true);
      const cap = 6 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(cx, y0);
      ctx.lineTo(cx, y1);
      ctx.moveTo(cx - cap, y0);
      ctx.lineTo(cx + cap, y0);
      ctx.moveTo(cx - cap, y1);
      ctx.lineTo(cx + cap, y1);
      ctx.stroke();
      drawn.items.push({ ...it, y: u.valToPos(it.value, 'y'), yLow: u.valToPos(it.low, 'y'), yHigh: u.valToPos(it.high, 'y') });
    });
    if (opts.zero) {
      const y = u.valToPos(0, 'y', true);
      ctx.strokeStyle = '#888';
      ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      drawn.zeroY = u.valToPos(0, 'y');
    }
    ctx.restore();
    el.dataset.drawn = JSON.stringify(drawn);
  };
  const lo = Math.min(0, ...items.map((i) => i.low));
  const hi = Math.max(...items.map((i) => i.high), 0);
  const pad = (hi - lo) * 0.1 || 1;
  mount(
    el,
    {
      height: opts.height ?? 280,
      series: [
        { label: 'item', value: (_u, v) => (v === null ? '' : items[v]?.name ?? '') },
        { label: labels.value, stroke: color(0), fill: color(0), width: 0, points: { show: true, size: 9, fill: color(0) }, paths: () => null },
        { label: labels.interval, stroke: color(1), width: 2, points: { show: false }, paths: () => null, value: (u, _v, _s, idx) => (idx === null || idx === undefined ? '' : `${items[idx]!.low.toFixed(2)} – ${items[idx]!.high.toFixed(2)}`) },
      ],
      axes: [
        { ...AXIS, splits: () => x, values: (_u, ticks) => ticks.map((t) => shortLabel(items[t]?.name ?? '', 14)), rotate: -30, size: 90 } as uPlot.Axis,
        { ...AXIS, label: labels.unit, size: 60 },
      ],
      scales: { x: { time: false, range: [-0.6, items.length - 0.4] }, y: { range: [opts.zero ? lo - pad : Math.max(0, lo - pad), hi + pad] } },
      hooks: { draw: [whiskers] },
    },
    [x, items.map((i) => i.value), items.map((i) => i.high)],
    items.length,
  );
}

/** Curves over a numeric x (take rate by position, one series per row). */
export function xyChart(el: HTMLElement, x: number[], series: { label: string; values: (number | null)[] }[], units: { x: string; y: string }, height = 260): void {
  mount(
    el,
    {
      height,
      series: [{ label: units.x }, ...series.map((s, i) => ({ label: s.label, stroke: color(i), width: 2, points: { show: true, size: 6 } }))],
      axes: [{ ...AXIS, label: units.x }, { ...AXIS, label: units.y, size: 60 }],
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    },
    [x, ...series.map((s) => s.values)],
    x.length * series.length,
  );
}
