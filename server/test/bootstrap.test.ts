import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventSchema } from '@marquee/core';
import { createWorld, simulateEvents } from '@marquee/core/synthetic';
import { bootstrap, type BootstrapOptions } from '../src/cli/bootstrap.ts';
import { toMarqueeEvent } from '../src/seed.ts';
import { Catalog } from '../src/catalog.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { ModelRegistry } from '../src/models/registry.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('bootstrap', () => {
  const world = { seed: 3, titles: 80, members: 40, sessionsPerMember: 8 };
  const options = (dataDir: string): BootstrapOptions => ({
    dataDir,
    world,
    timeBudgetSec: 2,
    model: { dim: 16, maxLen: 20, layers: 1, heads: 2 },
    train: { maxEpochs: 3 },
    backend: 'cpu',
    batchSize: 500,
    progress: false,
    log: () => {},
  });

  it('converts synthetic events into valid MarqueeEvents with UUIDv7 ids and the member as userId', () => {
    const w = createWorld(world);
    const events = [...simulateEvents(w)].slice(0, 300).map(toMarqueeEvent);
    const types = new Set(events.map((e) => e.type));
    expect(types).toContain('impression');
    expect(types).toContain('play_start');
    for (const e of events) {
      const r = EventSchema.safeParse(e);
      expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
      expect(e.userId).toMatch(/^m\d+$/);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('seeds an empty store, trains and publishes a live model; a second run does nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'marquee-bootstrap-test-'));
    dirs.push(dataDir);
    const expected = [...simulateEvents(createWorld(world))].length;

    const first = await bootstrap(options(dataDir));
    expect(first.action).toBe('published');
    expect(first.seeded).toBe(expected);
    expect(first.events).toBe(expected);

    const registry = new ModelRegistry(join(dataDir, 'models'));
    const live = await registry.latest();
    expect(live?.version).toBe(first.version);
    expect(live!.items.ids.length).toBe(world.titles);
    expect(live!.config.dim).toBe(16);

    // The API can serve it: the candidate service builds its embedding index from the published model.
    const catalog = Catalog.synthetic({ seed: world.seed, titles: world.titles });
    const index = await new CandidateService(catalog, new LiveAggregates(), registry).refresh();
    expect(index?.version).toBe(first.version);
    expect(index!.cold.size).toBe(0);

    const store = await DuckDbEventStore.open(dataDir);
    try {
      expect(await store.count()).toBe(expected);
      const plays = await store.scan(['play_start', 'complete']);
      expect(plays.length).toBeGreaterThan(0);
      for (const e of plays.slice(0, 200)) expect(EventSchema.safeParse(e).success).toBe(true);
    } finally {
      await store.close();
    }

    const versionsBefore = await readdir(join(dataDir, 'models'));
    const second = await bootstrap(options(dataDir));
    expect(second.action).toBe('skipped');
    expect(second.version).toBe(first.version);
    expect(second.seeded).toBe(0);
    expect(await readdir(join(dataDir, 'models'))).toEqual(versionsBefore);
    const again = await DuckDbEventStore.open(dataDir);
    try {
      expect(await again.count()).toBe(expected);
    } finally {
      await again.close();
    }
  });
});
