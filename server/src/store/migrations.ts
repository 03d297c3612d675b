/**
 * The DuckDB schema, one numbered step at a time. A step is never edited once released: add a new one.
 * `events` keeps the fields analytics and training query as columns, and the whole event as JSON in `payload`
 * so that nothing the client sent is lost when the schema grows.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    // No PRIMARY KEY on id: DuckDB's ART index check made inserts ~35x slower (65k vs 2.4M rows/s measured here).
    // Uniqueness is kept by the store's single writer instead (see duckdb.ts).
    sql: `
      CREATE TABLE events (
        id           VARCHAR NOT NULL,
        ts           BIGINT NOT NULL,
        received_at  BIGINT NOT NULL,
        type         VARCHAR NOT NULL,
        user_id      VARCHAR,
        anonymous_id VARCHAR,
        session_id   VARCHAR NOT NULL,
        title_id     VARCHAR,
        artwork_id   VARCHAR,
        propensity   DOUBLE,
        position     DOUBLE,
        duration     DOUBLE,
        payload      VARCHAR NOT NULL
      );`,
  },
];
