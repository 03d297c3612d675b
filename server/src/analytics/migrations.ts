import type { Migration } from '../store/types.ts';

/**
 * Analytics' own steps (versions 20..29). Version 20's `analytics_events` (a typed copy of the events of its own)
 * was replaced by the store's shared `typed_events` in migration 50 (store/typed-events.ts); `analytics_plays`
 * pre-aggregates the events into plays (a tenth of the rows), which most measures count.
 */
export const ANALYTICS_MIGRATIONS: readonly Migration[] = [
  {
    version: 20,
    name: 'analytics_events',
    sql: `
      CREATE TABLE analytics_events (
        seq        BIGINT NOT NULL,   -- the rowid in events it was copied from
        day        INTEGER NOT NULL,  -- UTC days since 1970-01-01 of ts
        ts         BIGINT NOT NULL,
        type       VARCHAR NOT NULL,
        member_id  VARCHAR,
        session_id VARCHAR,
        title_id   VARCHAR,
        row_name   VARCHAR,
        slot       INTEGER,
        artwork_id VARCHAR,
        position   DOUBLE,
        duration   DOUBLE
      );
      -- One row per play (session, title), rebuilt for the plays new events touch: the unit of most measures.
      -- row_name, slot and artwork_id: the impression it came from (same session and title), when there was one.
      CREATE TABLE analytics_plays (
        session_id VARCHAR NOT NULL,
        title_id   VARCHAR NOT NULL,
        member_id  VARCHAR,
        day        INTEGER NOT NULL,
        watched    DOUBLE NOT NULL,
        duration   DOUBLE,
        completed  BOOLEAN NOT NULL,
        quality    BOOLEAN NOT NULL,
        row_name   VARCHAR,
        slot       INTEGER,
        artwork_id VARCHAR
      );
      -- Daily rollups, rebuilt for every day a refresh touches. members: distinct members of that group that day,
      -- so over a range max(members) is a lower bound of its distinct members and sum(members) an upper bound.
      CREATE TABLE analytics_days (
        day INTEGER NOT NULL, plays INTEGER NOT NULL, quality_plays INTEGER NOT NULL, completed INTEGER NOT NULL,
        watched DOUBLE NOT NULL, members INTEGER NOT NULL, active INTEGER NOT NULL
      );
      CREATE TABLE analytics_title_days (
        day INTEGER NOT NULL, title_id VARCHAR NOT NULL, plays INTEGER NOT NULL, quality_plays INTEGER NOT NULL,
        completed INTEGER NOT NULL, watched DOUBLE NOT NULL, members INTEGER NOT NULL
      );
      CREATE TABLE analytics_slot_days (
        day INTEGER NOT NULL, row_name VARCHAR, slot INTEGER, impressions INTEGER NOT NULL, taken INTEGER NOT NULL,
        members INTEGER NOT NULL
      );
      -- Artwork: additive counts per day; distinct members (of artworks, and of titles' plays) per calendar month (a day holds too few members of one
      -- artwork to clear k, a month usually does), rebuilt for the months a refresh touches.
      CREATE TABLE analytics_artwork_days (
        day INTEGER NOT NULL, title_id VARCHAR NOT NULL, artwork_id VARCHAR NOT NULL, impressions INTEGER NOT NULL,
        taken INTEGER NOT NULL, quality_taken INTEGER NOT NULL
      );
      CREATE TABLE analytics_artwork_months (
        month_start INTEGER NOT NULL, month_end INTEGER NOT NULL, title_id VARCHAR NOT NULL, artwork_id VARCHAR NOT NULL,
        members INTEGER NOT NULL
      );
      CREATE TABLE analytics_title_months (
        month_start INTEGER NOT NULL, month_end INTEGER NOT NULL, title_id VARCHAR NOT NULL, members INTEGER NOT NULL
      );
      CREATE TABLE analytics_state (next_rowid BIGINT NOT NULL);
      INSERT INTO analytics_state VALUES (0);`,
  },
  {
    // Per genre, the same rollups as per title (a play counts for each genre of its title), with the genre's own
    // distinct members per day and month: summing title rollups over a genre's titles made its member bounds loose
    // (the most members of one title on one day, at least; the sum over titles and days, at most), so nearly every
    // genre needed an exact count over all its plays (458 ms at 5M events under load).
    version: 21,
    name: 'analytics genre rollups',
    sql: `
      CREATE TABLE analytics_genre_days (
        day INTEGER NOT NULL, genre VARCHAR NOT NULL, plays INTEGER NOT NULL, quality_plays INTEGER NOT NULL,
        completed INTEGER NOT NULL, watched DOUBLE NOT NULL, members INTEGER NOT NULL
      );
      CREATE TABLE analytics_genre_months (
        month_start INTEGER NOT NULL, month_end INTEGER NOT NULL, genre VARCHAR NOT NULL, members INTEGER NOT NULL
      );`,
  },
];

/**
 * Version 53 (after the typed copy's 50-52, which still name the month tables): reach rollups (service.ts, REACH)
 * give every group's exact distinct members over any range, replacing the per-day and per-month member counts that
 * only bounded them (groups between the bounds were counted again from every play or impression: up to 1.1 s per
 * query at 5M events). Reach is built from the existing rollups at the next refresh (`reach_built`).
 */
export const ANALYTICS_REACH_MIGRATION: Migration = {
  version: 53,
  name: 'analytics reach',
  sql: `
    CREATE TABLE analytics_title_reach (day INTEGER NOT NULL, title_id VARCHAR NOT NULL, prev_day INTEGER, members INTEGER NOT NULL);
    CREATE TABLE analytics_genre_reach (day INTEGER NOT NULL, genre VARCHAR NOT NULL, prev_day INTEGER, members INTEGER NOT NULL);
    CREATE TABLE analytics_artwork_reach (
      day INTEGER NOT NULL, title_id VARCHAR NOT NULL, artwork_id VARCHAR NOT NULL, prev_day INTEGER, members INTEGER NOT NULL
    );
    CREATE TABLE analytics_slot_reach (
      day INTEGER NOT NULL, row_name VARCHAR NOT NULL, slot INTEGER NOT NULL, prev_day INTEGER, members INTEGER NOT NULL
    );
    DROP TABLE analytics_artwork_months;
    -- Artwork's day rollups summed per calendar month (month_start: its first day), read for the whole months of
    -- a range: a title has several artworks, so the day rows are many (835k at 5M events, for 9k artworks).
    CREATE TABLE analytics_artwork_months (
      month_start INTEGER NOT NULL, title_id VARCHAR NOT NULL, artwork_id VARCHAR NOT NULL, impressions INTEGER NOT NULL,
      taken INTEGER NOT NULL, quality_taken INTEGER NOT NULL
    );
    CREATE TABLE analytics_artwork_reach_months (
      month_start INTEGER NOT NULL, title_id VARCHAR NOT NULL, artwork_id VARCHAR NOT NULL, prev_day INTEGER, members INTEGER NOT NULL
    );
    DROP TABLE analytics_title_months;
    DROP TABLE analytics_genre_months;
    ALTER TABLE analytics_title_days DROP COLUMN members;
    ALTER TABLE analytics_genre_days DROP COLUMN members;
    ALTER TABLE analytics_slot_days DROP COLUMN members;
    ALTER TABLE analytics_state ADD COLUMN reach_built BOOLEAN DEFAULT false;`,
};
