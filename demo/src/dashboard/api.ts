/**
 * The dashboard's calls to the admin API: bearer token, JSON parsed with the schemas in @marquee/core (never
 * cast), and errors that say what went wrong (a refused token, a missing route, a server error).
 */
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class AdminApi {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async get<S extends z.ZodType>(path: string, schema: S, query: Record<string, string | number | undefined> = {}): Promise<z.infer<S>> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
    return this.call(`${path}${q.size ? `?${q}` : ''}`, schema, { method: 'GET' });
  }

  async post<S extends z.ZodType>(path: string, schema: S, body: unknown): Promise<z.infer<S>> {
    return this.call(path, schema, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  }

  private async call<S extends z.ZodType>(path: string, schema: S, init: RequestInit): Promise<z.infer<S>> {
    const res = await fetch(`${this.base}${path}`, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${this.token}` } });
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const j: unknown = JSON.parse(text);
        if (j && typeof j === 'object' && 'error' in j) detail = [j.error, 'detail' in j ? j.detail : ''].filter(Boolean).join(': ');
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(res.status, res.status === 401 ? 'the admin token was refused' : `HTTP ${res.status}: ${detail}`);
    }
    return schema.parse(JSON.parse(text));
  }
}
