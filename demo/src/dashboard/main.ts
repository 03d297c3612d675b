/**
 * The analytics dashboard (demo/dashboard.html): reads the admin analytics routes and the forecast route, and
 * draws each answer with uPlot (charts.ts). Opened with `?api=URL` like the demo (default: this origin, proxied).
 * Every section loads on its own: one failing or empty never blanks the others. `window.dashboard` tells tests
 * and the curious how long the first full load took and what each section shows.
 */
import {
  DailyStatsSchema,
  ExperimentResultsSchema,
  ExperimentsDocumentSchema,
  ForecastResponseSchema,
  LiveRateSchema,
  TakeRateStatsSchema,
  TitleStatsSchema,
  TrendingStatsSchema,
  ArtworkStatsSchema,
  type ForecastResponse,
} from '@marquee/core';
import { AdminApi, ApiError } from './api.ts';
import { categoryBars, emptyState, intervalChart, timeChart, xyChart } from './charts.ts';

const params = new URLSearchParams(location.search);
const base = params.get('api') ?? '';
const TOKEN_KEY = 'marquee.adminToken';

type SectionState = 'loading' | 'data' | 'empty' | 'error';
const dashboard = {
  /** ms from navigation to every section drawn (data or empty state), first load. */
  readyMs: null as number | null,
  sections: {} as Record<string, SectionState>,
  forecast: null as ForecastResponse | null,
};
declare global {
  interface Window {
    dashboard: typeof dashboard;
  }
}
window.dashboard = dashboard;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number) => `${fmt(x * 100, 1)}%`;
const daySeconds = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 1000;
const EMPTY = 'No events in this range yet. Send events with the SDK (or run `npm run bootstrap`) and they appear here.';

let api: AdminApi;

function range(): { from?: string; to?: string } {
  const f = new FormData($<HTMLFormElement>('range'));
  return { from: String(f.get('from') ?? '') || undefined, to: String(f.get('to') ?? '') || undefined };
}

/** Runs one section's load, turning errors into a sentence in its chart and recording its state. */
async function section(name: string, el: HTMLElement, load: () => Promise<SectionState>): Promise<void> {
  dashboard.sections[name] = 'loading';
  try {
    dashboard.sections[name] = await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut(err.message);
    emptyState(el, `Could not load: ${(err as Error).message}`);
    dashboard.sections[name] = 'error';
  }
}

async function loadDaily(): Promise<SectionState> {
  const el = $('chart-hours');
  const d = await api.get('/v1/admin/analytics/daily', DailyStatsSchema, { ...range(), limit: 1000 });
  const kpis = $('kpis');
  const hours = d.days.reduce((s, x) => s + x.hours, 0);
  const plays = d.days.reduce((s, x) => s + x.plays, 0);
  const quality = d.days.reduce((s, x) => s + x.qualityPlays, 0);
  const peak = Math.max(0, ...d.days.map((x) => x.activeMembers));
  kpis.innerHTML = '';
  for (const [label, value] of [
    ['viewing hours', fmt(hours)],
    ['plays', fmt(plays)],
    ['quality plays', plays ? pct(quality / plays) : '–'],
    ['peak active members / day', fmt(peak)],
    ['range', d.from ? `${d.from} → ${d.to}` : 'no data'],
    ['privacy floor', `k = ${d.k}${d.suppressed ? `, ${d.suppressed} days hidden` : ''}`],
  ]) {
    const div = document.createElement('div');
    div.innerHTML = `<span class="kpi-value"></span><span class="kpi-label"></span>`;
    div.querySelector('.kpi-value')!.textContent = value!;
    div.querySelector('.kpi-label')!.textContent = label!;
    kpis.append(div);
  }
  if (!d.days.length) {
    emptyState(el, d.suppressed ? `Every day in this range has fewer than ${d.k} active members: hidden by the privacy floor.` : EMPTY);
    return 'empty';
  }
  timeChart(
    el,
    d.days.map((x) => daySeconds(x.day)),
    [
      { label: 'viewing hours', values: d.days.map((x) => x.hours), bars: true },
      { label: 'active members', values: d.days.map((x) => x.activeMembers), right: true },
    ],
    { left: 'hours', right: 'members' },
  );
  return 'data';
}

async function loadTop(): Promise<SectionState> {
  const el = $('chart-top');
  const t = await api.get('/v1/admin/analytics/titles', TitleStatsSchema, { ...range(), limit: 12 });
  const list = $('title-list');
  list.replaceChildren(...t.rows.map((r) => Object.assign(document.createElement('option'), { value: r.key, label: r.name })));
  if (!t.rows.length) return emptyFor(el, t.suppressed, t.k);
  categoryBars(el, t.rows.map((r) => r.name), [{ label: 'viewing hours', values: t.rows.map((r) => r.hours) }], 'hours');
  return 'data';
}

async function loadGenres(): Promise<void> {
  const g = await api.get('/v1/admin/analytics/titles', TitleStatsSchema, { by: 'genre', limit: 50 });
  $('genre-list').replaceChildren(...g.rows.map((r) => Object.assign(document.createElement('option'), { value: r.key })));
}

async function loadTrending(): Promise<SectionState> {
  const el = $('chart-trending');
  const t = await api.get('/v1/admin/analytics/trending', TrendingStatsSchema, { to: range().to, limit: 10 });
  if (t.from) $('trending-sub').textContent = `Plays in the ${t.windowDays} days to ${t.to} against the ${t.windowDays} days before`;
  if (!t.rows.length) return emptyFor(el, t.suppressed, t.k);
  categoryBars(el, t.rows.map((r) => r.name), [
    { label: `plays, last ${t.windowDays} days`, values: t.rows.map((r) => r.plays) },
    { label: `plays, ${t.windowDays} days before`, values: t.rows.map((r) => r.previousPlays) },
  ], 'plays');
  return 'data';
}

async function loadTakeRates(): Promise<SectionState> {
  const el = $('chart-take');
  const t = await api.get('/v1/admin/analytics/take-rates', TakeRateStatsSchema, { ...range(), limit: 10 });
  if (!t.cells.length) return emptyFor(el, t.suppressed, t.k);
  const rows = [...new Set(t.cells.map((c) => c.row))];
  const positions = [...new Set(t.cells.map((c) => c.position))].sort((a, b) => a - b);
  xyChart(
    el,
    positions.map((p) => p + 1),
    rows.map((row) => ({ label: row, values: positions.map((p) => { const c = t.cells.find((x) => x.row === row && x.position === p); return c ? c.take.rate * 100 : null; }) })),
    { x: 'position in row (1 = leftmost)', y: 'take rate, %' },
  );
  return 'data';
}

async function loadArtwork(): Promise<SectionState> {
  const el = $('chart-artwork');
  const a = await api.get('/v1/admin/analytics/artwork', ArtworkStatsSchema, { ...range(), limit: 12 });
  if (!a.rows.length) return emptyFor(el, a.suppressed, a.k);
  intervalChart(
    el,
    a.rows.map((r) => ({ name: `${r.name} · ${r.artworkId.split('-').at(-1)}`, value: r.qualityTake.rate * 100, low: r.qualityTake.low * 100, high: r.qualityTake.high * 100 })),
    { value: 'quality take rate', interval: '95% interval', unit: 'quality plays per impression, %' },
  );
  return 'data';
}

/** The forest plot: each running experiment's first metric, every variant against control with its 95% interval. */
async function loadExperiments(): Promise<SectionState> {
  const el = $('chart-experiments');
  const doc = await api.get('/v1/experiments/admin', ExperimentsDocumentSchema);
  const results = await Promise.all(
    doc.experiments.slice(0, 8).map((e) => api.get(`/v1/experiments/${encodeURIComponent(e.id)}/results`, ExperimentResultsSchema)),
  );
  const items = results.flatMap((r) => {
    const metric = r.metrics[0];
    if (!metric) return [];
    return metric.vsControl.map((v) => ({
      name: `${r.experiment} · ${v.variant} vs ${r.control} (${metric.metric})`,
      value: v.fixedHorizon.estimate,
      low: v.fixedHorizon.ci[0],
      high: v.fixedHorizon.ci[1],
    }));
  });
  if (!items.length) {
    emptyState(el, doc.experiments.length ? 'No experiment has enough exposed units for an interval yet (at least two per arm).' : 'No experiment is defined: add one with PUT /v1/experiments/admin (see README, Experiments).');
    return 'empty';
  }
  intervalChart(el, items, { value: 'difference from control', interval: '95% interval (fixed horizon)', unit: 'per exposed unit' }, { zero: true });
  return 'data';
}

let liveTimer: number | undefined;
async function loadLive(): Promise<SectionState> {
  const el = $('chart-live');
  const l = await api.get('/v1/admin/analytics/live', LiveRateSchema, { minutes: 30 });
  timeChart(el, l.perMinute.map((m) => m.minute / 1000), [{ label: 'events per minute', values: l.perMinute.map((m) => m.events), bars: true }], { left: 'events / min' }, 220);
  if (l.perMinute.every((m) => m.events === 0)) el.insertAdjacentHTML('beforeend', '<p class="overlay">no events in the last 30 minutes</p>');
  return l.perMinute.some((m) => m.events > 0) ? 'data' : 'empty';
}

function emptyFor(el: HTMLElement, suppressed: number, k: number): SectionState {
  emptyState(el, suppressed ? `${suppressed} groups in this range describe fewer than ${k} members: hidden by the privacy floor.` : EMPTY);
  return 'empty';
}

async function loadAll(): Promise<void> {
  await Promise.all([
    section('hours', $('chart-hours'), loadDaily),
    section('top', $('chart-top'), loadTop),
    section('trending', $('chart-trending'), loadTrending),
    section('take', $('chart-take'), loadTakeRates),
    section('artwork', $('chart-artwork'), loadArtwork),
    section('experiments', $('chart-experiments'), loadExperiments),
    section('live', $('chart-live'), loadLive),
    loadGenres().catch(() => {}),
  ]);
  dashboard.readyMs ??= Math.round(performance.now());
  $('status').textContent = `loaded in ${fmt(performance.now() - started)} ms`;
}

let started = 0;
async function forecast(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const f = new FormData($<HTMLFormElement>('forecast-form'));
  const list = (v: FormDataEntryValue | null) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const err = $('forecast-error');
  err.textContent = '';
  const body = { genres: list(f.get('genres')), year: Number(f.get('year')), runtimeMin: Number(f.get('runtime')), cost: Number(f.get('cost')), comparables: list(f.get('comparables')) };
  $('forecast-result').textContent = 'forecasting…';
  try {
    const r = await api.post('/v1/forecasts', ForecastResponseSchema, body);
    dashboard.forecast = r;
    showForecast(r, body.cost);
  } catch (e) {
    $('forecast-result').textContent = '';
    err.textContent = (e as Error).message;
  }
}

function showForecast(r: ForecastResponse, cost: number): void {
  xyChart($('chart-forecast'), r.distribution.map((d) => Math.round(d.q * 100)), [{ label: 'hours in the first 28 days', values: r.distribution.map((d) => d.hours) }], { x: 'quantile, % (chance the title gets fewer hours)', y: 'hours, first 28 days' }, 240);
  const q = (x: { p10: number; p50: number; p90: number }, d = 0) => `<b>${fmt(x.p50, d)}</b> <span class="range">(80%: ${fmt(x.p10, d)} – ${fmt(x.p90, d)})</span>`;
  const res = $('forecast-result');
  res.innerHTML = `
    <dl>
      <dt>Hours, first 28 days</dt><dd data-field="h28">${q(r.first28Days)}</dd>
      <dt>Hours, first year</dt><dd data-field="year">${r.firstYear ? q(r.firstYear) : 'not enough titles with a year of history'}</dd>
      <dt>Cost per hour viewed (${r.costPerHour.basis === 'firstYear' ? 'first year' : 'first 28 days'})</dt><dd data-field="cph">${q(r.costPerHour, 2)}</dd>
      <dt>Cost</dt><dd>${fmt(cost)}</dd>
    </dl>
    <p class="sub">Learned from ${fmt(r.history.titles)} titles (${fmt(r.history.titlesWithYear)} with a year of history); interval calibrated on the ${fmt(r.history.calibration)} latest launches.</p>
    <table class="comparables"><thead><tr><th>comparable</th><th>weight</th><th>28-day hours</th></tr></thead><tbody></tbody></table>`;
  const tbody = res.querySelector('tbody')!;
  for (const c of r.comparables) {
    const tr = document.createElement('tr');
    for (const v of [`${c.name} (${c.titleId})${c.named ? ' ★' : ''}`, pct(c.weight), fmt(c.hours28)]) tr.append(Object.assign(document.createElement('td'), { textContent: v }));
    tbody.append(tr);
  }
  if (r.unknownComparables.length) res.insertAdjacentHTML('beforeend', `<p class="error"></p>`), (res.lastElementChild!.textContent = `Not in the history: ${r.unknownComparables.join(', ')}`);
}

function signOut(message: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(liveTimer);
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('status').textContent = 'not signed in';
}

async function open(token: string): Promise<void> {
  api = new AdminApi(base, token);
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('status').textContent = 'loading…';
  started = performance.now();
  await loadAll();
  clearInterval(liveTimer);
  liveTimer = window.setInterval(() => void section('live', $('chart-live'), loadLive), 5000);
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = String(new FormData(ev.target as HTMLFormElement).get('token') ?? '');
  sessionStorage.setItem(TOKEN_KEY, token);
  void open(token);
});
$('range').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (api) void loadAll();
});
$('forecast-form').addEventListener('submit', (ev) => void forecast(ev));

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void open(saved);
else $('login').hidden = false;
