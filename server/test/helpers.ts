import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { SCHEMA_VERSION, uuidv7, type MarqueeEvent } from '@marquee/core';

export function makeEvent(over: Partial<MarqueeEvent> = {}): MarqueeEvent {
  return {
    id: uuidv7(),
    ts: Date.now(),
    schemaVersion: SCHEMA_VERSION,
    sessionId: 'sess-1',
    anonymousId: 'anon-1',
    type: 'progress',
    titleId: 'title-1',
    position: 60,
    duration: 3600,
    ...over,
  } as MarqueeEvent;
}

/** A test file's maker of temporary data directories (`marquee-PREFIX-...`), each removed after its test. */
export function tempDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await mkdtemp(join(tmpdir(), `marquee-${prefix}-`));
    dirs.push(d);
    return d;
  };
}
