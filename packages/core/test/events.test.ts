import { describe, expect, it } from 'vitest';
import { EventSchema, describeIssues, uuidv7, SCHEMA_VERSION } from '../src/index.ts';

const envelope = () => ({
  id: uuidv7(),
  ts: Date.now(),
  schemaVersion: SCHEMA_VERSION,
  sessionId: 's-1',
  anonymousId: 'anon-1',
});

describe('EventSchema', () => {
  it.each([
    ['impression', { type: 'impression', titleId: 't1', row: 'Top Picks', position: 3, artwork: { artworkId: 'a2', propensity: 0.25 } }],
    ['play_start', { type: 'play_start', titleId: 't1' }],
    ['progress', { type: 'progress', titleId: 't1', position: 120, duration: 5400 }],
    ['pause', { type: 'pause', titleId: 't1', position: 121.5, duration: 5400 }],
    ['complete', { type: 'complete', titleId: 't1', position: 5400, duration: 5400 }],
    ['custom', { type: 'custom', name: 'rated', props: { stars: 4 } }],
    ['with exposures', { type: 'play_start', titleId: 't1', experiments: [{ experiment: 'rows', variant: 'b' }] }],
    ['alias', { type: 'alias', userId: 'member-42' }],
    ['profile-tagged', { type: 'play_start', titleId: 't1', profileId: 'kids' }],
  ])('accepts a valid %s event', (_name, body) => {
    const result = EventSchema.safeParse({ ...envelope(), ...body });
    expect(result.success, result.success ? '' : describeIssues(result.error)).toBe(true);
  });

  it.each([
    ['unknown type', { type: 'teleport', titleId: 't1' }, 'type'],
    ['missing titleId', { type: 'play_start' }, 'titleId'],
    ['negative position', { type: 'progress', titleId: 't1', position: -1, duration: 10 }, 'position'],
    ['zero duration', { type: 'complete', titleId: 't1', position: 0, duration: 0 }, 'duration'],
    ['propensity above 1', { type: 'impression', titleId: 't', row: 'r', position: 0, artwork: { artworkId: 'a', propensity: 1.5 } }, 'artwork.propensity'],
    ['huge custom props', { type: 'custom', name: 'x', props: { blob: 'x'.repeat(5000) } }, 'props'],
    ['alias without the member', { type: 'alias' }, 'userId'],
  ])('rejects %s and says where', (_name, body, path) => {
    const result = EventSchema.safeParse({ ...envelope(), ...body });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toContain(path);
  });

  it('needs a user or an anonymous id', () => {
    const { anonymousId: _, ...noIdentity } = envelope();
    const result = EventSchema.safeParse({ ...noIdentity, type: 'play_start', titleId: 't1' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toMatch(/userId or an anonymousId/);
  });

  it('an alias names both the anonymous id and the member', () => {
    const { anonymousId: _, ...noAnonymous } = envelope();
    const result = EventSchema.safeParse({ ...noAnonymous, type: 'alias', userId: 'member-42' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toContain('anonymousId');
  });

  it('rejects an id that is not a UUIDv7 and an unknown schema version', () => {
    expect(EventSchema.safeParse({ ...envelope(), id: 'abc', type: 'play_start', titleId: 't' }).success).toBe(false);
    expect(EventSchema.safeParse({ ...envelope(), schemaVersion: 99, type: 'play_start', titleId: 't' }).success).toBe(false);
  });
});
