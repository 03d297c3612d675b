/**
 * A hand-written check for the common event shapes, beside EventSchema (events.ts), which stays the one contract.
 * The server validates every event of every batch, and zod's generic walk cost ~11 us per event, a third of the
 * ingest path's JS time; this costs ~1 us for the events clients actually send.
 *
 * It only ever says "yes, and here is what EventSchema would output" or "not sure": it accepts a strict subset of
 * what EventSchema accepts, and everything else (custom events, unknown keys, an upper-case id, any value out of
 * bounds) goes to EventSchema, which gives the verdict and the exact error. A property test over the ingest fuzz
 * generator asserts that whatever it accepts EventSchema accepts with an equal output (event-fast-path.test.ts).
 */
import { LIMITS, SCHEMA_VERSION, EventSchema, describeIssues, type MarqueeEvent } from './events.ts';
import { isWellFormed } from './well-formed.ts';

type Check = (v: unknown) => boolean;

const idString: Check = (v) => typeof v === 'string' && v.length >= 1 && v.length <= LIMITS.idLength && isWellFormed(v);
const nameString: Check = (v) => typeof v === 'string' && v.length >= 1 && v.length <= LIMITS.nameLength && isWellFormed(v);
const policyString: Check = (v) => typeof v === 'string' && v.length <= LIMITS.nameLength && isWellFormed(v);
const seconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const positiveSeconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const rowPosition: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Plain JSON objects only (what JSON.parse makes): no arrays, no prototypes that could hide or add keys. */
function plainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Every own key is one of `fields` and passes its check, and every required field is there. */
function exactly(v: unknown, fields: Readonly<Record<string, Check>>, required: readonly string[]): boolean {
  if (!plainObject(v)) return false;
  for (const key in v) {
    if (!Object.hasOwn(v, key)) return false;
    const check = fields[key];
    if (check === undefined || !Object.hasOwn(fields, key) || !check(v[key])) return false;
  }
  for (const key of required) if (!Object.hasOwn(v, key)) return false;
  return true;
}

const exposure: Check = (v) => exactly(v, { experiment: idString, variant: idString }, ['experiment', 'variant']);
const ARTWORK_FIELDS: Record<string, Check> = {
  artworkId: idString,
  propensity: (v) => typeof v === 'number' && v > 0 && v <= 1,
  policy: policyString,
  policyVersion: policyString,
};
const artwork: Check = (v) => exactly(v, ARTWORK_FIELDS, ['artworkId', 'propensity']);
const interleaving: Check = (v) => exactly(v, { experiment: idString, variant: idString, team: (t) => t === 'A' || t === 'B' }, ['experiment', 'variant', 'team']);

/** A UUIDv7 in lower case, as EventSchema outputs it (an upper-case id goes to EventSchema, which lowers it). */
function lowerUuidV7(v: unknown): boolean {
  if (typeof v !== 'string' || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false; // '-'
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false; // 0-9 a-f
  }
  const variant = v.charCodeAt(19);
  return v.charCodeAt(14) === 55 /* '7' */ && (variant === 56 || variant === 57 || variant === 97 || variant === 98); // 8 9 a b
}

const BASE: Record<string, Check> = {
  id: lowerUuidV7,
  ts: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0,
  schemaVersion: (v) => v === SCHEMA_VERSION,
  sessionId: idString,
  userId: idString,
  anonymousId: idString,
  profileId: idString,
  experiments: (v) => Array.isArray(v) && v.length <= 50 && v.every(exposure),
};
const TITLE: Record<string, Check> = { ...BASE, titleId: idString, artwork, impressionId: idString };
const PLAYBACK: Record<string, Check> = { ...TITLE, position: seconds, duration: positiveSeconds };
const BASE_REQUIRED = ['id', 'ts', 'schemaVersion', 'sessionId', 'type'];
const TITLE_REQUIRED = [...BASE_REQUIRED, 'titleId'];
const PLAYBACK_REQUIRED = [...TITLE_REQUIRED, 'position', 'duration'];

const type = (t: string): Check => (v) => v === t;
/** By `type`: the fields and the required ones. `custom` is left to EventSchema (its props need the bounds walk). */
const SHAPES: Record<string, { fields: Record<string, Check>; required: readonly string[] }> = {
  impression: {
    fields: { ...TITLE, type: type('impression'), row: nameString, position: rowPosition, interleaving },
    required: [...TITLE_REQUIRED, 'row', 'position'],
  },
  play_start: { fields: { ...TITLE, type: type('play_start') }, required: TITLE_REQUIRED },
  progress: { fields: { ...PLAYBACK, type: type('progress') }, required: PLAYBACK_REQUIRED },
  pause: { fields: { ...PLAYBACK, type: type('pause') }, required: PLAYBACK_REQUIRED },
  complete: { fields: { ...PLAYBACK, type: type('complete') }, required: PLAYBACK_REQUIRED },
  alias: { fields: { ...BASE, type: type('alias') }, required: [...BASE_REQUIRED, 'userId', 'anonymousId'] },
};

/**
 * `raw` itself, typed, when it is one of the common event shapes exactly as EventSchema would output it (no unknown
 * key to strip, the id already in lower case): then EventSchema would accept it and output an equal object.
 * Null means "not sure", never "invalid": ask EventSchema.
 */
export function commonEvent(raw: unknown): MarqueeEvent | null {
  if (!plainObject(raw)) return null;
  const t = raw.type;
  if (typeof t !== 'string' || !Object.hasOwn(SHAPES, t)) return null;
  const shape = SHAPES[t];
  if (shape === undefined || !exactly(raw, shape.fields, shape.required)) return null;
  if (raw.userId === undefined && raw.anonymousId === undefined) return null;
  return raw as MarqueeEvent;
}

export type EventVerdict = { ok: true; event: MarqueeEvent } | { ok: false; reason: string };

/** One event judged against EventSchema: the fast path for the common shapes, EventSchema for the rest. */
export function judgeEvent(raw: unknown): EventVerdict {
  const fast = commonEvent(raw);
  if (fast !== null) return { ok: true, event: fast };
  const r = EventSchema.safeParse(raw);
  return r.success ? { ok: true, event: r.data } : { ok: false, reason: describeIssues(r.error) };
}
