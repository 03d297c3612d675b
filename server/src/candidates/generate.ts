/**
 * Candidate generation: a few hundred to a few thousand titles for the device to rank, each tagged with the
 * sources that proposed it and why. Sources are cheap on purpose; the device's model does the fine ranking.
 */
import { topKOf, type Candidate, type CandidateSourceName } from '@marquee/core';
import type { Catalog } from '../catalog.ts';
import type { LiveAggregates } from './aggregates.ts';
import type { EmbeddingIndex } from './embeddings.ts';

export type { Candidate };

export interface CandidateRequest {
  recentTitleIds: readonly string[];
  userEmbedding?: readonly number[];
  limit: number;
  now?: number;
}

export interface CandidateContext {
  catalog: Catalog;
  aggregates: LiveAggregates;
  embeddings?: EmbeddingIndex | null;
}

/** How many each source may propose, as a share of the limit; sources overlap, so shares sum above one. */
const SHARE: Record<CandidateSourceName, number> = { embedding: 0.4, similar: 0.3, popular: 0.2, trending: 0.2, genre: 0.2, new: 0.1 };

export function generateCandidates(ctx: CandidateContext, req: CandidateRequest): Candidate[] {
  const { catalog, aggregates, embeddings } = ctx;
  const seen = new Set(req.recentTitleIds);
  const out = new Map<string, Candidate>();
  const quota = (s: CandidateSourceName) => Math.max(1, Math.ceil(req.limit * SHARE[s]));
  const add = (source: CandidateSourceName, titleId: string, score: number, because?: string) => {
    if (seen.has(titleId) || !catalog.byId.has(titleId)) return;
    let c = out.get(titleId);
    if (!c) out.set(titleId, (c = { titleId, sources: [] }));
    if (!c.sources.some((s) => s.source === source)) c.sources.push(because ? { source, score, because } : { source, score });
  };

  // Embedding retrieval: the device's user embedding against the model's item embeddings (cold titles included).
  if (embeddings && req.userEmbedding) {
    for (const s of embeddings.nearest(req.userEmbedding, quota('embedding') + seen.size)) add('embedding', s.titleId, s.score);
  }

  // Because you watched X: co-occurrence neighbours of the most recent titles, more for the most recent.
  const recent = req.recentTitleIds.slice(-5).reverse();
  recent.forEach((anchor, i) => {
    const k = Math.ceil(quota('similar') / (i + 2)) + seen.size;
    for (const s of aggregates.similar(anchor, k)) add('similar', s.titleId, s.score, anchor);
  });

  for (const s of aggregates.popular(quota('popular') + seen.size)) add('popular', s.titleId, s.score);
  for (const s of aggregates.trending(quota('trending') + seen.size, req.now)) add('trending', s.titleId, s.score);

  // Genres of the recent titles, weighted by how often they appear; popular titles of each.
  const genreWeight = new Map<string, number>();
  for (const id of req.recentTitleIds) for (const g of catalog.byId.get(id)?.genres ?? []) genreWeight.set(g, (genreWeight.get(g) ?? 0) + 1);
  const topGenres = [...genreWeight].sort((a, b) => b[1] - a[1]).slice(0, 3);
  for (const [genre, weight] of topGenres) {
    const pool = catalog.byGenre.get(genre) ?? [];
    const ranked = pool.map((title, order) => ({ title, order, plays: aggregates.playsOf(title.id) }));
    // Only the top few are needed: select them (O(n log k)) rather than sort the whole genre; ties keep catalog order.
    const k = Math.ceil(quota('genre') / topGenres.length) + seen.size;
    const top = topKOf(ranked, k, (x, y) => x.plays - y.plays || x.title.year - y.title.year || y.order - x.order);
    for (const { title, plays } of top) add('genre', title.id, weight * (1 + plays), genre);
  }

  // New arrivals: ranked by the model's metadata embedding when the device sent an embedding, else by recency.
  const arrivals = catalog.newest.slice(0, quota('new') * 4);
  if (embeddings && req.userEmbedding) {
    for (const s of embeddings.nearest(req.userEmbedding, quota('new'), arrivals.map((t) => t.id))) add('new', s.titleId, s.score);
  } else {
    for (const t of arrivals.slice(0, quota('new'))) add('new', t.id, t.year);
  }

  // Fill up with the catalog's most played titles so the device always has enough to rank.
  if (out.size < req.limit) {
    for (const s of aggregates.popular(req.limit + seen.size)) {
      if (out.size >= req.limit) break;
      add('popular', s.titleId, s.score);
    }
    for (const t of catalog.titles) {
      if (out.size >= req.limit) break;
      add('popular', t.id, 0);
    }
  }
  return [...out.values()].slice(0, req.limit);
}
