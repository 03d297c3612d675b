/**
 * The demo embeds the SDK as a web player would: a grid of titles, a player that reports playback, and a live
 * view of the SDK's outbox and sync state. `window.marquee` is the personalizer, for the curious and for tests.
 */
import { createPersonalizer, type Personalizer, type SyncStats } from '@marquee/sdk';
import { createWorld, type Title } from '@marquee/core/synthetic';

const params = new URLSearchParams(location.search);
const marquee = createPersonalizer({
  endpoint: params.get('api') ?? '',
  writeKey: params.get('key') ?? 'dev-write-key',
  userId: params.get('user') ?? undefined,
  batch: { maxAgeMs: Number(params.get('maxAgeMs') ?? 1000) },
  retry: { baseMs: 200, maxMs: Number(params.get('retryMaxMs') ?? 5000) },
  backends: (params.get('backends')?.split(',') as never) ?? undefined,
});
declare global {
  interface Window {
    marquee: Personalizer;
  }
}
window.marquee = marquee;

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const titles = createWorld({ members: 1 }).titles.slice(0, 48);
const ROW = 'All titles';
const TIME_SCALE = 60; // one real second plays one minute, so a whole film fits a demo

// Catalog grid: one impression per card shown.
const hue = (t: Title) => (t.index * 47) % 360;
$('#catalog').append(
  ...titles.map((t, position) => {
    const card = document.createElement('button');
    card.className = 'card';
    card.dataset.title = t.id;
    card.setAttribute('aria-pressed', 'false');
    card.innerHTML = `<div class="art" style="background:linear-gradient(135deg,hsl(${hue(t)} 60% 35%),hsl(${hue(t) + 40} 60% 15%))"></div>
      <div class="meta">${t.year} · ${t.genres.join(', ')} · ${t.runtimeMin} min</div>`;
    card.querySelector('.art')!.textContent = t.name;
    card.addEventListener('click', () => select(t));
    void marquee.impression({ titleId: t.id, row: ROW, position, artwork: { artworkId: t.artworks[0].id, propensity: 1 } });
    return card;
  }),
);

// The player: positions and durations in seconds, as a real player reports them.
let current: Title | null = null;
let position = 0;
let playing: ReturnType<typeof setInterval> | null = null;
let sinceHeartbeat = 0;
const duration = () => (current ? current.runtimeMin * 60 : 0);
const fmt = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

function render() {
  $('#now-playing').textContent = current ? `${current.name}${playing ? ' ▶' : ''}` : 'Pick a title';
  $('#clock').textContent = `${fmt(position)} / ${fmt(duration())}`;
  const seek = $<HTMLInputElement>('#seek');
  seek.max = String(duration());
  seek.value = String(position);
  seek.disabled = !current;
  $<HTMLButtonElement>('#play').disabled = !current || !!playing;
  $<HTMLButtonElement>('#pause').disabled = !playing;
  $<HTMLButtonElement>('#complete').disabled = !current;
  for (const card of document.querySelectorAll<HTMLElement>('.card')) {
    card.setAttribute('aria-pressed', String(card.dataset.title === current?.id));
  }
}

function stop() {
  if (playing) clearInterval(playing);
  playing = null;
}

function select(t: Title) {
  if (current && playing) void marquee.pause({ titleId: current.id, position, duration: duration() });
  stop();
  current = t;
  position = 0;
  render();
}

$('#play').addEventListener('click', () => {
  if (!current) return;
  const t = current;
  void marquee.playStart({ titleId: t.id, artwork: { artworkId: t.artworks[0].id, propensity: 1 } });
  playing = setInterval(() => {
    position = Math.min(duration(), position + TIME_SCALE);
    sinceHeartbeat += TIME_SCALE;
    if (sinceHeartbeat >= 300) {
      sinceHeartbeat = 0;
      void marquee.progress({ titleId: t.id, position, duration: duration() });
    }
    if (position >= duration()) complete();
    render();
  }, 1000);
  render();
});

$('#pause').addEventListener('click', () => {
  if (!current) return;
  stop();
  void marquee.pause({ titleId: current.id, position, duration: duration() });
  render();
});

$('#seek').addEventListener('change', (e) => {
  if (!current) return;
  position = Number((e.target as HTMLInputElement).value);
  void marquee.progress({ titleId: current.id, position, duration: duration() });
  render();
});

function complete() {
  if (!current) return;
  stop();
  position = duration();
  void marquee.complete({ titleId: current.id, position, duration: duration() });
  render();
}
$('#complete').addEventListener('click', complete);
$('#flush').addEventListener('click', () => void marquee.flush());

// Live panel.
marquee.onStats((s: SyncStats) => {
  for (const el of document.querySelectorAll<HTMLElement>('[data-stat]')) {
    const key = el.dataset.stat as keyof SyncStats;
    el.textContent = key === 'online' ? (s.online ? 'online' : 'offline') : String(s[key] ?? 0);
  }
  $('#last-error').textContent = s.lastError ?? '';
});
marquee.backend().then(
  (b) => {
    $('#backend').textContent = `${b.name}${b.softwareAdapter ? ' (software adapter)' : ''}`;
    $('#backend').dataset.name = b.name;
  },
  (err: Error) => {
    $('#backend').textContent = `none: ${err.message}`;
  },
);
render();
