/** Server settings from the environment, with defaults that work on a developer's machine. */
export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  adminToken: string;
  writeKeys: string[];
  corsOrigins: string[];
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
  };
}
