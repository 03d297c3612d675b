/**
 * The event fuzz generator shared by the ingest fuzz test and the fast path's equivalence test: valid events of every
 * type, the same with 1-3 fields broken or dropped, resends (same or upper-cased id) and plain garbage.
 */
import fc from 'fast-check';
import { LIMITS, SCHEMA_VERSION, uuidv7 } from '@marquee/core';

export const lone = fc.constantFrom('\ud800', '\udfff', 'a\udbffb', '\udc00\ud800');

/** Values on the edges of EventSchema's bounds: each is just inside or just outside one of them. */
const edge = fc.constantFrom(
  '', 'x', 'x'.repeat(LIMITS.idLength), 'x'.repeat(LIMITS.idLength + 1), 'x'.repeat(LIMITS.nameLength), 'x'.repeat(LIMITS.nameLength + 1),
  0, -0, 1, -1, 0.5, 1.0000001, 1e-300, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 2.5, 'A', 'B', 'C', 'a',
  { artworkId: 'a', propensity: 1 }, { artworkId: 'a', propensity: 0 }, { artworkId: 'a', propensity: 1, policy: '' }, { artworkId: 'a', propensity: 0.3, extra: 1 },
  { experiment: 'e', variant: 'v', team: 'A' }, { experiment: 'e', variant: 'v' }, { experiment: 'e', variant: 'v', team: 'C' },
  [{ experiment: 'e', variant: 'v' }], [{ experiment: 'e' }], Array.from({ length: 51 }, () => ({ experiment: 'e', variant: 'v' })),
  '01900000-0000-7000-8000-000000000000', '01900000-0000-7000-c000-000000000000', '01900000-0000-4000-8000-000000000000', '01900000-0000-7000-B000-00000000000A',
  'impression', 'play_start', 'progress', 'pause', 'complete', 'custom', 'alias', 'constructor', '__proto__',
);

export const nasty = fc.oneof(
  fc.jsonValue(),
  lone,
  edge,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', 'x'.repeat(300), 1e308, -1, 0, 9007199254740991, null, true, [], {}, '__proto__', { __proto__: { a: 1 } }),
  fc.integer({ min: 1, max: 20 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth * 100; i++) v = [v];
    return v;
  }),
);

export const FIELDS = ['id', 'ts', 'schemaVersion', 'sessionId', 'userId', 'anonymousId', 'profileId', 'type', 'titleId', 'row', 'position', 'duration', 'artwork', 'impressionId', 'interleaving', 'experiments', 'name', 'props', 'extra', '__proto__'];

export function validEvent(kind: number, n: number): Record<string, unknown> {
  const base = { id: uuidv7(), ts: Date.now() - (n % 1000) * 1000, schemaVersion: SCHEMA_VERSION, sessionId: `s${n % 7}`, userId: `u${n % 13}` };
  switch (kind % 7) {
    case 0: return { ...base, type: 'impression', titleId: `t${n % 50}`, row: 'Top Picks', position: n % 30, artwork: { artworkId: 'a1', propensity: 0.5 } };
    case 1: return { ...base, type: 'play_start', titleId: `t${n % 50}` };
    case 2: return { ...base, type: 'progress', titleId: `t${n % 50}`, position: n % 100, duration: 100 };
    case 3: return { ...base, type: 'pause', titleId: `t${n % 50}`, position: 1.5, duration: 100 };
    case 4: return { ...base, type: 'complete', titleId: `t${n % 50}`, position: 100, duration: 100 };
    case 5: return { ...base, type: 'alias', anonymousId: `a${n % 11}` };
    default: return { ...base, type: 'custom', name: 'rated', props: { stars: n % 5, tags: ['a', 'b'] } };
  }
}

/** One event: valid, or valid with 1-3 fields broken, or a resend (same or upper-cased id), or plain garbage. */
export const eventArb = fc.record({
  kind: fc.nat(),
  n: fc.nat(),
  mode: fc.constantFrom('valid', 'valid', 'broken', 'broken', 'resend', 'upper', 'garbage'),
  breaks: fc.array(fc.record({ field: fc.constantFrom(...FIELDS), value: nasty, drop: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  garbage: nasty,
});

export type EventSpec = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

/** The event a spec describes; `sentIds` are ids already sent, for resends. */
export function eventFrom(spec: EventSpec, sentIds: readonly string[]): unknown {
  if (spec.mode === 'garbage') return spec.garbage;
  if ((spec.mode === 'resend' || spec.mode === 'upper') && sentIds.length > 0) {
    const id = sentIds[spec.n % sentIds.length] ?? '';
    return { ...validEvent(spec.kind, spec.n), id: spec.mode === 'upper' ? id.toUpperCase() : id };
  }
  const e = validEvent(spec.kind, spec.n);
  if (spec.mode === 'broken') for (const b of spec.breaks) b.drop ? delete e[b.field] : (e[b.field] = b.value);
  return e;
}
