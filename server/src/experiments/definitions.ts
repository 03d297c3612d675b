/**
 * Experiment definitions: one versioned JSON document, `DATA_DIR/experiments.json`. Every accepted edit bumps the
 * version, and an edit must name the version it was made against (optimistic concurrency: two operators editing at
 * once cannot silently overwrite each other). Written to a temporary file and renamed, so a crash never leaves half
 * a document.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeIssues, ExperimentsDocumentSchema, isActive, type ActiveExperiments, type Experiment, type ExperimentsDocument } from '@marquee/core';

export class VersionConflict extends Error {}
export class InvalidDocument extends Error {}

export class ExperimentDefinitions {
  private doc: ExperimentsDocument | null = null;

  /** `path` null keeps the document in memory only (tests, throwaway servers). */
  constructor(
    readonly path: string | null,
    private readonly now: () => number = Date.now,
  ) {}

  static inDataDir(dataDir: string): ExperimentDefinitions {
    return new ExperimentDefinitions(dataDir === ':memory:' ? null : join(dataDir, 'experiments.json'));
  }

  async read(): Promise<ExperimentsDocument> {
    if (this.doc) return this.doc;
    let raw: string | null = null;
    if (this.path) {
      try {
        raw = await readFile(this.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (raw === null) {
      this.doc = { version: 0, updatedAt: 0, experiments: [] };
    } else {
      const parsed = ExperimentsDocumentSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) throw new Error(`${this.path} is not a valid experiments document: ${parsed.error.message}`);
      this.doc = parsed.data;
    }
    return this.doc;
  }

  async get(id: string): Promise<Experiment | undefined> {
    return (await this.read()).experiments.find((e) => e.id === id);
  }

  /** Replaces the experiments; `baseVersion` must be the version the edit started from. */
  async write(experiments: unknown, baseVersion: number): Promise<ExperimentsDocument> {
    const current = await this.read();
    if (baseVersion !== current.version) throw new VersionConflict(`the document is at version ${current.version}, the edit was made against ${baseVersion}`);
    const parsed = ExperimentsDocumentSchema.safeParse({ version: current.version + 1, updatedAt: this.now(), experiments });
    if (!parsed.success) throw new InvalidDocument(describeIssues(parsed.error));
    const next = parsed.data;
    if (this.path) {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(next, null, 2));
      await rename(tmp, this.path);
    }
    this.doc = next;
    return next;
  }

  /** What devices fetch: experiments that have not stopped (those not started yet are included: devices cache them). */
  async active(): Promise<ActiveExperiments> {
    const d = await this.read();
    const now = this.now();
    return { version: d.version, experiments: d.experiments.filter((e) => isActive(e, now) || (e.start !== undefined && e.start > now)) };
  }
}
