/**
 * Experiments on the device (worker side): the server's active definitions, fetched and cached in IndexedDB so
 * assignment works offline; assignment by the pure bucketing in core (the same answer as the server's); the
 * variant's page parameters for the homepage; and the exposure event, once per (unit, experiment) per session,
 * logged when the variant is applied to what the viewer sees.
 */
import {
  ActiveExperimentsSchema, assignAll, EXPOSURE_EVENT, exposedKey, parseContract,
  type Assignment, type EventInput, type Experiment, type Exposure, type VariantParams,
} from '@marquee/core';
import { getMeta, putMeta, type Database } from './db.ts';

/**
 * Parameters the homepage applies (the model version and the artwork policy through the model manager and the
 * artwork chooser); an experiment with any of them in any variant is a page experiment.
 */
const PAGE_KEYS = ['rankWeights', 'rowPolicy', 'diversity', 'interleaveWith', 'modelVersion', 'artworkPolicy'] as const;

export interface PageExperiments {
  /** Merged parameters of the page experiments this unit is in (document order; layers keep them apart). */
  params: VariantParams;
  assignments: Assignment[];
  /**
   * The experiment whose variant interleaves Top Picks (`interleaveWith`), if any, and the team-draft seed: the
   * same row for this unit all session, a fresh draw in the next.
   */
  interleaving?: { experiment: string; variant: string; seed: string };
}

export class DeviceExperiments {
  private definitions: Experiment[] = [];
  private loaded: Promise<void> | null = null;
  private exposing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly endpoint: string,
    /** The unit: userId, else anonymousId; asked each time, since identify() and reset() change it. */
    private readonly unit: () => string | Promise<string>,
    private readonly sessionId: string,
    private readonly track: (e: EventInput) => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fetches the active definitions (falls back to the cached ones offline). Safe to call again to refresh. */
  load(): Promise<void> {
    this.loaded = this.fetchDefinitions();
    return this.loaded;
  }

  private async fetchDefinitions(): Promise<void> {
    try {
      const res = await fetch(`${this.endpoint}/v1/experiments`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const parsed = parseContract(ActiveExperimentsSchema, await res.json(), 'GET /v1/experiments answered');
      this.definitions = parsed.experiments;
      await putMeta(this.db, 'experiments', parsed);
    } catch {
      this.definitions = (await getMeta(this.db, 'experiments'))?.experiments ?? [];
    }
  }

  private async ready(): Promise<void> {
    await (this.loaded ?? this.load());
  }

  async assignments(): Promise<Assignment[]> {
    await this.ready();
    return assignAll(this.definitions, await this.unit(), this.now());
  }

  async variant(id: string): Promise<Assignment | null> {
    return (await this.assignments()).find((a) => a.experiment === id) ?? null;
  }

  async pageParams(): Promise<PageExperiments> {
    await this.ready();
    const page = new Set(this.definitions.filter((e) => e.variants.some((v) => PAGE_KEYS.some((k) => v.params[k] !== undefined))).map((e) => e.id));
    const assignments = (await this.assignments()).filter((a) => page.has(a.experiment));
    const params = Object.assign({}, ...assignments.map((a) => a.params)) as VariantParams;
    // With several, the last in document order sets interleaveWith (Object.assign above), and so names the row.
    const il = assignments.findLast((a) => a.params.interleaveWith !== undefined);
    const interleaving = il && { experiment: il.experiment, variant: il.variant, seed: `${await this.unit()}.${this.sessionId}.${il.experiment}` };
    return { params, assignments, ...(interleaving ? { interleaving } : {}) };
  }

  /** Logs `$exposure` for each assignment not yet logged in this session (serialised: no double logging). */
  expose(assignments: readonly Assignment[]): Promise<void> {
    if (assignments.length === 0) return this.exposing;
    this.exposing = this.exposing.then(async () => {
      const key = exposedKey(this.sessionId, await this.unit());
      const logged = (await getMeta(this.db, key)) ?? {};
      const unlogged = assignments.filter((a) => logged[a.experiment] !== a.variant);
      if (unlogged.length === 0) return;
      for (const a of unlogged) {
        const exposure: Exposure = { experiment: a.experiment, variant: a.variant };
        await this.track({ type: 'custom', name: EXPOSURE_EVENT, props: { bucket: a.bucket }, experiments: [exposure] });
        logged[a.experiment] = a.variant;
      }
      await putMeta(this.db, key, logged);
    }).catch(() => {});
    return this.exposing;
  }
}
