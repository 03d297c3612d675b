/**
 * The event fields the typed copy (typed-events.ts) and the engagement columns are made of, and how the write path
 * hands them to DuckDB without DuckDB parsing the JSON again.
 *
 * The API holds every event parsed already, so the store writes these fields beside the JSON, in the same row
 * (`events.typed_fields`, migration 5): the values in FIELDS order joined by chr(31), a missing value as the empty
 * string (every string field of the contract is at least one character long, so '' is never a value). The copy
 * splits that string instead of extracting 19 JSON paths per row (~20-30 us of DuckDB CPU per event under load).
 * Being one column of the row itself, it commits or is lost with the row: there is no moment where one exists
 * without the other. Rows written another way, or whose strings hold a tab, a newline or chr(31) (the write path's
 * separators), have no packed fields and are extracted from the JSON as before.
 */
import type { MarqueeEvent } from '@marquee/core';

type Value = string | number | undefined;

/**
 * Each JSON path and the value json_extract_string reads there, taken from the parsed event. `$.id` is read only
 * for interleaved impressions (the one place the copy uses it), so other events leave it out of the packed string.
 */
const FIELDS: readonly (readonly [path: string, value: (e: MarqueeEvent) => Value])[] = [
  ['$.ts', (e) => e.ts],
  ['$.type', (e) => e.type],
  ['$.userId', (e) => e.userId],
  ['$.anonymousId', (e) => e.anonymousId],
  ['$.sessionId', (e) => e.sessionId],
  ['$.titleId', (e) => ('titleId' in e ? e.titleId : undefined)],
  ['$.row', (e) => ('row' in e ? e.row : undefined)],
  ['$.position', (e) => ('position' in e ? e.position : undefined)],
  ['$.artwork.artworkId', (e) => ('artwork' in e ? e.artwork?.artworkId : undefined)],
  ['$.duration', (e) => ('duration' in e ? e.duration : undefined)],
  ['$.name', (e) => ('name' in e ? e.name : undefined)],
  ['$.experiments[0].experiment', (e) => e.experiments?.[0]?.experiment],
  ['$.experiments[0].variant', (e) => e.experiments?.[0]?.variant],
  ['$.id', (e) => (e.type === 'impression' && e.interleaving ? e.id : undefined)],
  ['$.impressionId', (e) => ('impressionId' in e ? e.impressionId : undefined)],
  ['$.interleaving.team', (e) => (e.type === 'impression' ? e.interleaving?.team : undefined)],
  ['$.interleaving.experiment', (e) => (e.type === 'impression' ? e.interleaving?.experiment : undefined)],
  ['$.interleaving.variant', (e) => (e.type === 'impression' ? e.interleaving?.variant : undefined)],
  ['$.artwork.propensity', (e) => ('artwork' in e ? e.artwork?.propensity : undefined)],
];

/** The JSON paths read once per event; f[i] in the copy's SQL is the i-th (1-based). */
export const PATHS: readonly string[] = FIELDS.map(([path]) => path);

const SEPARATOR = '\x1f';
/** What a packed value must not hold: the separator, and the tab and newline that split the write path's lines. */
const UNPACKABLE = /[\t\n\x1f]/;

/** The event's FIELDS as one string (see above); '' when a string holds a separator (the JSON is read instead). */
export function packTypedFields(e: MarqueeEvent): string {
  let out = '';
  for (let i = 0; i < FIELDS.length; i++) {
    const v = FIELDS[i]?.[1](e);
    if (typeof v === 'string' && UNPACKABLE.test(v)) return '';
    if (i > 0) out += SEPARATOR;
    // A number as JSON.stringify writes it in the payload: the SQL casts the same text to the same value.
    if (v !== undefined) out += String(v);
  }
  return out;
}

/** SQL: the value at `path` in a packed string already split into the list `list` (NULL when missing). */
export function packedField(list: string, path: string): string {
  const i = PATHS.indexOf(path);
  if (i < 0) throw new Error(`typed fields: no field ${path}`);
  return `nullif(${list}[${i + 1}], '')`;
}

/** SQL: the packed string `column` split into a list (NULL for NULL). */
export function splitPacked(column: string): string {
  return `string_split(${column}, chr(31))`;
}

/**
 * SQL: the list json_extract_string(payload, PATHS) gives, for a row with the packed fields split into `list` (the
 * same values, read from the packed string) or without them (extracted from `payload`, a JSON parse per row).
 */
export function fieldsOf(list: string, payload: string): string {
  return `CASE WHEN ${list} IS NULL THEN json_extract_string(${payload}, ['${PATHS.join("', '")}'])
               ELSE [${PATHS.map((p) => packedField(list, p)).join(', ')}] END`;
}
