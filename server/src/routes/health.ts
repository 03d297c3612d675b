import { Hono } from 'hono';
import type { EventStore } from '../store/types.ts';
import type { CandidateService } from '../candidates/service.ts';
import type { ModelRegistry } from '../models/registry.ts';

export interface HealthOptions {
  store: EventStore;
  models?: ModelRegistry;
  candidates?: CandidateService;
  /** The error of the last append through the API, or null when it committed (or none happened yet). */
  lastCommitError: () => unknown;
  /**
   * Stored events the analytics rollups have not caught up with yet, null before the first check (reported, not a
   * reason to refuse traffic: ingest and recommendations work meanwhile).
   */
  analyticsBehind?: () => number | null;
}

/**
 * `GET /healthz`: the process is alive (a restart would not help if this fails to answer).
 * `GET /readyz`: the service can do its job now: the store takes writes, the last commit worked, and the published
 * model (if any) is loaded. 503 with every reason otherwise, so a load balancer stops sending traffic here.
 */
export function healthRoutes(opts: HealthOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const reasons: string[] = [];
    const probe = opts.store.health ? await opts.store.health() : { ok: true as const };
    if (!probe.ok) reasons.push(`store not writable: ${probe.reason}`);
    const commitError = opts.lastCommitError();
    if (commitError) reasons.push(`last commit failed: ${commitError instanceof Error ? commitError.message : String(commitError)}`);
    if (opts.models && opts.candidates) {
      const latest = await opts.models.latest().catch(() => null);
      if (latest && opts.candidates.embeddings?.version !== latest.version) {
        reasons.push(`model ${latest.version} published but not loaded`);
      }
    }
    const analytics = opts.analyticsBehind ? { analytics: { eventsNotRolledUp: opts.analyticsBehind() } } : {};
    return reasons.length === 0 ? c.json({ ready: true, ...analytics }) : c.json({ ready: false, reasons, ...analytics }, 503);
  });
  return app;
}
