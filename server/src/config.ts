import { loadLimits, type ApiLimits } from './limits.ts';

/** Server settings from the environment, with defaults that work on a developer's machine. */
export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  adminToken: string;
  writeKeys: string[];
  corsOrigins: string[];
  limits: ApiLimits;
  /** DuckDB's buffer pool limit (`DUCKDB_MEMORY_LIMIT`, default 512MB). */
  duckdbMemoryLimit: string;
}

export const DEV_WRITE_KEY = 'dev-write-key';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

const list = (v: string | undefined, fallback: string[]) =>
  v === undefined ? fallback : v.split(',').map((s) => s.trim()).filter(Boolean);

export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const port = Number(env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${env.PORT}`);
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.DATA_DIR ?? '.data',
    adminToken: env.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    writeKeys: list(env.WRITE_KEYS, [DEV_WRITE_KEY]),
    corsOrigins: list(env.CORS_ORIGINS, [
      'http://localhost:5173',
      'http://127.0.0.1:5173',
      'http://localhost:4173',
      'http://127.0.0.1:4173',
    ]),
    limits: loadLimits(env),
    duckdbMemoryLimit: env.DUCKDB_MEMORY_LIMIT || '512MB',
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

/**
 * The development secrets are public (they are in this repository): fine on loopback, refused anywhere else, so a
 * server reachable from a network never runs with them by accident.
 */
export function assertSafeSecrets(config: ServerConfig): void {
  if (LOOPBACK.test(config.host)) return;
  const problems: string[] = [];
  if (config.adminToken === DEV_ADMIN_TOKEN) problems.push('ADMIN_TOKEN is the development default');
  if (config.writeKeys.includes(DEV_WRITE_KEY)) problems.push('WRITE_KEYS holds the development default');
  if (problems.length > 0) {
    throw new Error(`refusing to listen on ${config.host} (not loopback): ${problems.join('; ')}. Set your own secrets.`);
  }
}

/** A secret for the start-up log: never its value, not even a prefix. */
export function redact(secret: string): string {
  return `<set, ${secret.length} chars>`;
}
