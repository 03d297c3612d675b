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
