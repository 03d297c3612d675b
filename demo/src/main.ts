/**
 * The demo embeds the SDK as a streaming site would: the homepage the worker builds, a player that reports
 * playback (which re-ranks the page on the device), and live views of the sync and of the model.
 * `window.marquee` is the personalizer and `window.demo` a few counters, for the curious and for tests.
 */
import { createPersonalizer, type HomePage, type PageTitle, type Personalizer, type SyncStats } from '@marquee/sdk';
import { artworkSvg } from './artwork-svg.ts';
import { showArtworkDebug } from './artwork-debug.ts';
import { mountProfiles } from './profiles.ts';

const params = new URLSearchParams(location.search);
const marquee = createPersonalizer({
  endpoint: params.get('api') ?? '',
  writeKey: params.get('key') ?? 'dev-write-key',
  userId: params.get('user') ?? undefined,
  batch: { maxAgeMs: Number(params.get('maxAgeMs') ?? 1000) },
  retry: { baseMs: 200, maxMs: Number(params.get('retryMaxMs') ?? 5000) },
  backends: (params.get('backends')?.split(',') as never) ?? undefined,
  backendChoice: params.get('choice') === 'first' ? 'first' : 'auto',
  artwork: params.has('artworkStickyMs') ? { stickinessMs: Number(params.get('artworkStickyMs')) } : undefined,
});
const demo = {
  impressions: 0,
  /** Of those, the ones the SDK has stored on the device (a reload before then may lose one in flight). */
  impressionsQueued: 0,
  pages: 0,
  page: null as HomePage | null,
  /** ms from navigation to the first page ranked by the model. */
  firstPersonalizedMs: null as number | null,
  /** That page's build in the worker (encode, candidates, scores, rows), ms: the part a GPU warm-up can shorten. */
  firstPersonalizedTimings: null as HomePage['timings'] | null,
  /** Main-thread tasks over 50 ms since load: the SDK should cause none. */
  longTasks: 0,
  /** Each long task: when (ms from navigation), how long, and what the browser attributes it to. */
  longTaskLog: [] as { startMs: number; durationMs: number; name: string; attribution: string[] }[],
  /** Every event id the SDK gave back, in order: the end-to-end tests compare them with the ids the server stored. */
  trackedIds: [] as string[],
};
const recordingIds =
  <A extends unknown[]>(send: (...args: A) => Promise<string | null>) =>
  async (...args: A): Promise<string | null> => {
    const id = await send(...args);
    if (id) demo.trackedIds.push(id);
    return id;
  };
Object.assign(marquee, {
  impression: recordingIds(marquee.impression),
  playStart: recordingIds(marquee.playStart),
  progress: recordingIds(marquee.progress),
  pause: recordingIds(marquee.pause),
  complete: recordingIds(marquee.complete),
  custom: recordingIds(marquee.custom),
  track: recordingIds(marquee.track),
});
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { attribution?: { containerType?: string; containerSrc?: string; containerName?: string; name?: string }[] })[]) {
      demo.longTasks++;
      demo.longTaskLog.push({
        startMs: Math.round(e.startTime),
        durationMs: Math.round(e.duration),
        name: e.name,
        attribution: (e.attribution ?? []).map((a) => [a.name, a.containerType, a.containerSrc || a.containerName].filter(Boolean).join(' ')),
      });
    }
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // Long-task timing is not available in every browser.
}
declare global {
  interface Window {
    marquee: Personalizer;
    demo: typeof demo;
  }
}
window.marquee = marquee;
window.demo = demo;

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const TIME_SCALE = 60; // one real second plays one minute, so a whole film fits a demo
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The side panels go in after the first frame, one per task (index.html keeps them in a <template>). The tab's first
 * layout waits on the browser's font service, a synchronous call per font face and size (bench traces: 10-44 ms for
 * the whole page's, at a reload's load event in the same task as this module's evaluation: a 71 ms long task). With
 * only the header and the page's placeholder in it, that layout is small; each panel's new faces come in a task of
 * its own. Resolves once every panel is in the page.
 */
async function mountPanels(): Promise<void> {
  await new Promise<void>((resolve) => {
    if (document.visibilityState === 'hidden') setTimeout(resolve, 0); // no frames in a hidden tab
    else requestAnimationFrame(() => setTimeout(resolve, 0));
  });
  const aside = $('aside');
  for (const panel of [...$<HTMLTemplateElement>('#aside-panels').content.children]) {
    aside.append(panel);
    await nextTask();
  }
}
const panels = mountPanels();

// ---- The homepage -------------------------------------------------------------------------------------------
/**
 * Per row and title: the artwork its card shows and the impression that logged it. A card whose artwork changed is a
 * new impression, also back to one it showed before (the device settles the impression the card replaced); a play
 * names the impression of the card that was clicked.
 */
const onScreen = new Map<string, { artworkId: string; impression: Promise<string | null> }>();
const hue = (t: PageTitle) => [...t.titleId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);

function card(t: PageTitle, row: string, position: number): HTMLElement {
  const el = document.createElement('button');
  el.className = 'card';
  el.dataset.title = t.titleId;
  el.dataset.genres = t.genres.join(',');
  el.setAttribute('aria-pressed', String(t.titleId === current?.titleId));
  el.innerHTML = `<div class="art" style="background:linear-gradient(135deg,hsl(${hue(t)} 60% 35%),hsl(${hue(t) + 40} 60% 15%))">${artworkSvg(t.artwork.artworkId, t.artwork.themes)}<span class="name"></span></div>
    <div class="meta"></div>`;
  el.dataset.artwork = t.artwork.artworkId;
  el.dataset.propensity = String(t.artwork.propensity);
  if (t.interleaving) el.dataset.team = t.interleaving.team;
  el.querySelector('.art .name')!.textContent = t.name;
  el.addEventListener('mouseenter', () => showArtworkDebug(t));
  el.addEventListener('focus', () => showArtworkDebug(t));
  el.querySelector('.meta')!.textContent = `${t.year} · ${t.genres.join(', ')} · ${t.artwork.themes.join(', ')}`;
  el.title = `score ${t.score.toFixed(3)} · artwork ${t.artwork.artworkId}`;
  const slot = `${row}/${t.titleId}`;
  let seen = onScreen.get(slot);
  if (seen?.artworkId !== t.artwork.artworkId) {
    demo.impressions++;
    const { artworkId, propensity, policy, policyVersion } = t.artwork;
    const impression = marquee.impression({ titleId: t.titleId, row, position, artwork: { artworkId, propensity, policy, policyVersion }, interleaving: t.interleaving });
    void impression.then(() => demo.impressionsQueued++);
    seen = { artworkId, impression };
    onScreen.set(slot, seen);
  }
  const { impression } = seen;
  // The impression's id on the card, for tests that play from a card and must know which trial it was.
  void impression.then((id) => id && (el.dataset.impression = id));
  el.addEventListener('click', () => select(t, impression));
  return el;
}

/**
 * Cards go into the page a few per task: a whole page (a few hundred cards, each an artwork and an impression) built
 * in one task was the page's one main-thread long task, 50-150 ms; one row per task still left one (a row's ten
 * cards' SVG parsed in one task, `ParseHTML` 74 ms of a 94 ms task in a loaded bench trace). The first cards are on
 * screen after the first task.
 */
const CARDS_PER_TASK = 4;
let renderGeneration = 0;

function rowSection(r: HomePage['rows'][number]): HTMLElement {
  const section = document.createElement('section');
  section.className = 'row';
  section.dataset.row = r.id;
  section.dataset.kind = r.kind;
  section.innerHTML = '<h2></h2><p class="reason"></p><div class="cards"></div>';
  section.querySelector('h2')!.textContent = r.title;
  section.querySelector('.reason')!.textContent = r.reason;
  return section;
}

async function render(page: HomePage) {
  const generation = ++renderGeneration;
  if (page.modelVersion && demo.firstPersonalizedMs === null) {
    demo.firstPersonalizedMs = Math.round(performance.now());
    demo.firstPersonalizedTimings = page.timings;
  }
  const home = $('#home');
  home.replaceChildren();
  let inTask = 0;
  for (const r of page.rows) {
    const section = rowSection(r);
    home.append(section);
    const cards = section.querySelector('.cards')!;
    for (const [i, t] of r.items.entries()) {
      if (inTask === CARDS_PER_TASK) {
        await nextTask();
        if (generation !== renderGeneration) return; // a newer page replaced this one
        inTask = 0;
      }
      cards.append(card(t, r.title, i));
      inTask++;
    }
  }
  if (page.rows.length === 0) home.innerHTML = '<p class="empty">Nothing to show yet.</p>';
  home.setAttribute('aria-busy', 'false');
  await panels; // a page counted below can be played from: the player and the debug drawer are in
  if (generation !== renderGeneration) return;
  // Counted once the whole page is in: tests that wait for a page read all of its rows.
  demo.page = page;
  demo.pages++;
  $('#debug-model').textContent = page.modelVersion ?? 'none (popularity only)';
  $('#debug-encode').textContent = page.encode;
  const src = Object.entries(page.candidates.sources).map(([k, v]) => `${k} ${v}`).join(', ');
  $('#debug-candidates').textContent = `${page.candidates.count} from ${page.candidates.from}${src ? ` (${src})` : ''}`;
  const t = page.timings;
  $('#debug-timings').textContent = `encode ${t.encodeMs} · candidates ${t.candidatesMs} · score ${t.scoreMs} · rows ${t.composeMs} · artwork ${t.artworkMs ?? 0} · total ${t.totalMs} ms`;
  $('#debug-rows').replaceChildren(...page.rows.map((r) => Object.assign(document.createElement('li'), { textContent: `${r.title}: ${r.reason}` })));
}

async function refresh() {
  try {
    await render(await marquee.homepage());
  } catch (err) {
    $('#home').innerHTML = '';
    $('#home').append(Object.assign(document.createElement('p'), { className: 'empty', textContent: `No page: ${(err as Error).message}` }));
  }
}
marquee.onPage((p) => void render(p));

// ---- The player: positions and durations in seconds, as a real player reports them -------------------------
let current: PageTitle | null = null;
let runtime = 0;
let position = 0;
let playing: ReturnType<typeof setInterval> | null = null;
let sinceHeartbeat = 0;
const fmt = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

function renderPlayer() {
  $('#now-playing').textContent = current ? `${current.name}${playing ? ' ▶' : ''}` : 'Pick a title';
  $('#clock').textContent = `${fmt(position)} / ${fmt(runtime)}`;
  const seek = $<HTMLInputElement>('#seek');
  seek.max = String(runtime);
  seek.value = String(position);
  seek.disabled = !current;
  $<HTMLButtonElement>('#play').disabled = !current || !!playing;
  $<HTMLButtonElement>('#pause').disabled = !playing;
  $<HTMLButtonElement>('#complete').disabled = !current;
  for (const el of document.querySelectorAll<HTMLElement>('.card')) el.setAttribute('aria-pressed', String(el.dataset.title === current?.titleId));
}

/** The selected card's impression, and the one the playback came from (a later selection does not change it). */
let currentImpression: Promise<string | null> = Promise.resolve(null);
let playImpression: Promise<string | null> = Promise.resolve(null);
/** A playback event at the current position, naming the impression the play came from. */
async function playback(type: 'progress' | 'pause' | 'complete', titleId: string) {
  const at = { titleId, position, duration: runtime };
  const impressionId = (await playImpression) ?? undefined;
  return marquee[type]({ ...at, impressionId });
}

function stop() {
  if (playing) clearInterval(playing);
  playing = null;
}

async function select(t: PageTitle, impression: Promise<string | null>) {
  await panels; // a card can be clicked in the moment before the player is in
  if (current && playing) void playback('pause', current.titleId);
  stop();
  current = t;
  currentImpression = impression;
  showArtworkDebug(t);
  position = 0;
  runtime = 5400;
  renderPlayer();
}

// ---- Live panels ----------------------------------------------------------------------------------------------
let lastVersion: string | undefined;
marquee.onModelStatus((s) => {
  const dl = s.downloading ? ` · downloading ${s.downloading.version}: ${Math.round((100 * s.downloading.loaded) / Math.max(1, s.downloading.total))}%` : '';
  $('#model-status').textContent = `model: ${s.version ?? s.state}${s.from ? ` (${s.from})` : ''}${dl}${s.error ? ` · ${s.error}` : ''}`;
  if (s.version && s.version !== lastVersion) {
    lastVersion = s.version;
    void refresh(); // a new model: a new page
  }
});
void refresh();

/** The player's controls: wired once its panel is in the page. */
function wirePlayer(): void {
  $('#play').addEventListener('click', () => {
    if (!current) return;
    const t = current;
    const { artworkId, propensity, policy, policyVersion } = t.artwork;
    // The playback's events name the impression the play came from: the page re-renders with the title on it again.
    playImpression = currentImpression;
    void playImpression.then((impressionId) =>
      marquee.playStart({ titleId: t.titleId, artwork: { artworkId, propensity, policy, policyVersion }, impressionId: impressionId ?? undefined }),
    );
    playing = setInterval(() => {
      position = Math.min(runtime, position + TIME_SCALE);
      sinceHeartbeat += TIME_SCALE;
      if (sinceHeartbeat >= 300) {
        sinceHeartbeat = 0;
        void playback('progress', t.titleId);
      }
      if (position >= runtime) complete();
      renderPlayer();
    }, 1000);
    renderPlayer();
  });

  $('#pause').addEventListener('click', () => {
    if (!current) return;
    stop();
    void playback('pause', current.titleId);
    renderPlayer();
  });

  $('#seek').addEventListener('change', (e) => {
    if (!current) return;
    position = Number((e.target as HTMLInputElement).value);
    void playback('progress', current.titleId);
    renderPlayer();
  });

  function complete() {
    if (!current) return;
    stop();
    position = runtime;
    void playback('complete', current.titleId);
    renderPlayer();
  }
  $('#complete').addEventListener('click', complete);
  $('#flush').addEventListener('click', () => void marquee.flush());
}

/** The sync and debug panels' live values: subscribed once they are in the page, so no update is missed. */
function wireLivePanels(): void {
  marquee.onStats((s: SyncStats) => {
    for (const el of document.querySelectorAll<HTMLElement>('[data-stat]')) {
      const key = el.dataset.stat as keyof SyncStats;
      el.textContent = key === 'online' ? (s.online ? 'online' : 'offline') : String(s[key] ?? 0);
    }
    $('#last-error').textContent = s.lastError ?? '';
  });
  marquee.backend().then(
    (b) => {
      const timings = b.timings ? ` · ${Object.entries(b.timings).map(([k, v]) => `${k} ${v} ms`).join(', ')}` : '';
      $('#backend').textContent = `${b.name}${b.adapterKind === 'software' ? ' (software adapter)' : ''}`;
      $('#backend').title = `chosen: ${b.chosenBy}${timings}`;
      $('#backend').dataset.name = b.name;
    },
    (err: Error) => {
      $('#backend').textContent = `none: ${err.message}`;
    },
  );
}

void panels.then(() => {
  wirePlayer();
  wireLivePanels();
  mountProfiles(marquee, refresh);
  renderPlayer();
});
