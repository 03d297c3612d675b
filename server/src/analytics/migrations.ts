import type { Migration } from '../store/types.ts';

/**
 * Analytics' own steps (versions 20..29). `analytics_events` is a typed, columnar copy of the playback and
 * impression events, filled incrementally from `events` (by rowid, which only grows: the table is append-only),
 * so a dashboard query reads a few narrow columns instead of parsing every event's JSON again; `analytics_plays`
 * pre-aggregates them into plays (a tenth of the rows), which most measures count.
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
];
