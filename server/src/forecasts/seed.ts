/**
 * A store and catalog where titles launch over time (createLaunchHistory + simulateLaunchEvents): what the
 * forecast learns from in tests, the dashboard's end-to-end test and `npm run forecast -- --seed-demo DIR`.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogTitle, MarqueeEvent } from '@marquee/core';
import { createLaunchHistory, createWorld, simulateLaunchEvents, type LaunchOptions, type WorldConfig } from '@marquee/core/synthetic';
import { toMarqueeEvent } from '../seed.ts';
import type { EventStore } from '../store/types.ts';

export interface LaunchWorldOptions {
  world?: Partial<WorldConfig>;
  launches?: Partial<LaunchOptions>;
}

export function launchWorldCatalog(opts: LaunchWorldOptions = {}): CatalogTitle[] {
  const world = createWorld(opts.world);
  return world.titles.map((t) => ({ id: t.id, name: t.name, genres: [...t.genres], year: t.year, runtimeMin: t.runtimeMin, artworks: t.artworks.map((a) => ({ id: a.id, themes: [...a.themes] })) }));
}

/** Appends the launch world's events to the store; returns how many were stored. */
export async function seedLaunchWorld(store: EventStore, opts: LaunchWorldOptions = {}, receivedAt = Date.now()): Promise<number> {
  const world = createWorld(opts.world);
  const history = createLaunchHistory(world, opts.launches);
  let batch: MarqueeEvent[] = [];
  let stored = 0;
  for (const e of simulateLaunchEvents(world, history)) {
    batch.push(toMarqueeEvent(e));
    if (batch.length >= 20_000) {
      stored += (await store.append(batch, receivedAt)).accepted;
      batch = [];
    }
  }
  if (batch.length) stored += (await store.append(batch, receivedAt)).accepted;
  return stored;
}

/** Writes `DATA_DIR/catalog.json` for the launch world, so the API's catalog matches the seeded events. */
export async function writeLaunchWorldCatalog(dataDir: string, opts: LaunchWorldOptions = {}): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'catalog.json'), JSON.stringify({ titles: launchWorldCatalog(opts) }));
}
