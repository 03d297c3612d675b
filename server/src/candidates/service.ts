/**
 * Owns what candidate generation reads: the catalog, the live aggregates, and the embedding index of the live
 * model, rebuilt in the background when a new version is published (requests use the previous one meanwhile).
 */
import type { Catalog } from '../catalog.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { LiveAggregates } from './aggregates.ts';
import { EmbeddingIndex } from './embeddings.ts';
import { generateCandidates, type Candidate, type CandidateRequest } from './generate.ts';

export class CandidateService {
  private index: EmbeddingIndex | null = null;
  private building: Promise<void> | null = null;
  private lastCheck = 0;

  constructor(
    readonly catalog: Catalog,
    readonly aggregates: LiveAggregates,
    private readonly models?: ModelRegistry,
    /** How often to look for a newly published model. */
    private readonly checkEveryMs = 2000,
  ) {}

  /** Resolves once the live model (if any) is indexed: for start-up and tests. */
  async refresh(): Promise<EmbeddingIndex | null> {
    if (!this.models) return null;
    const m = await this.models.latest();
    if (m && m.version !== this.index?.version) {
      const registry = this.models;
      const getFile = async (path: string) => {
        const f = await registry.file(m.version, path);
        if (!f) throw new Error(`model ${m.version}: ${path} missing`);
        return f.bytes;
      };
      try {
        this.index = await EmbeddingIndex.build(m, getFile, this.catalog);
      } catch (err) {
        console.error(`model ${m.version}: cannot build the embedding index: ${(err as Error).message}`);
      }
    }
    return this.index;
  }

  private maybeRefresh(): void {
    const now = Date.now();
    if (this.building || now - this.lastCheck < this.checkEveryMs) return;
    this.lastCheck = now;
    this.building = this.refresh().then(
      () => void (this.building = null),
      () => void (this.building = null),
    );
  }

  get embeddings(): EmbeddingIndex | null {
    return this.index;
  }

  candidates(req: CandidateRequest): { candidates: Candidate[]; modelVersion: string | null } {
    this.maybeRefresh();
    if (req.userEmbedding && this.index && req.userEmbedding.length !== this.index.dim) {
      throw new RangeError(`userEmbedding has ${req.userEmbedding.length} values; the live model (${this.index.version}) uses ${this.index.dim}`);
    }
    return {
      candidates: generateCandidates({ catalog: this.catalog, aggregates: this.aggregates, embeddings: this.index }, req),
      modelVersion: this.index?.version ?? null,
    };
  }
}
