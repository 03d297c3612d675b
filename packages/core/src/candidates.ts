/** The wire contract of `POST /v1/candidates`, both ways, shared by the SDK's worker and the server. */
import { z } from 'zod';
import { wellFormedString } from './well-formed.ts';

export const CANDIDATE_LIMITS = {
  /** A request holds a few recent ids and one embedding: 64 KiB is far above any honest one. */
  maxBodyBytes: 64 * 1024,
  maxRecentTitleIds: 500,
  maxEmbeddingDim: 4096,
  maxLimit: 5000,
} as const;

export const CandidateRequestSchema = z.object({
  /** Oldest first; raw history need not leave the device, a few recent ids are enough. */
  recentTitleIds: z.array(wellFormedString(0, 128)).max(CANDIDATE_LIMITS.maxRecentTitleIds).default([]),
  /** The user embedding computed on the device by the live model. */
  userEmbedding: z.array(z.number().finite()).max(CANDIDATE_LIMITS.maxEmbeddingDim).optional(),
  limit: z.number().int().min(1).max(CANDIDATE_LIMITS.maxLimit).default(500),
  /** The write key may come in the body like `/v1/events`; the `x-marquee-key` header is checked first. */
  writeKey: z.string().min(1).max(256).optional(),
});
export type CandidateRequestBody = z.infer<typeof CandidateRequestSchema>;

export const CANDIDATE_SOURCES = ['popular', 'trending', 'similar', 'embedding', 'genre', 'new'] as const;
export type CandidateSourceName = (typeof CANDIDATE_SOURCES)[number];

export const CandidateSourceSchema = z.object({
  source: z.enum(CANDIDATE_SOURCES),
  score: z.number().finite(),
  /** For 'similar': the title it is similar to. For 'genre': the genre. */
  because: z.string().optional(),
});
export type CandidateSource = z.infer<typeof CandidateSourceSchema>;

/** A title proposed for the device to rank, with every source that proposed it. */
export const CandidateSchema = z.object({ titleId: z.string().min(1), sources: z.array(CandidateSourceSchema) });
export type Candidate = z.infer<typeof CandidateSchema>;

export const CandidateResponseSchema = z.object({
  candidates: z.array(CandidateSchema),
  /** The model whose embedding index answered, null when none is published. */
  modelVersion: z.string().nullable(),
  tookMs: z.number().nonnegative(),
});
export type CandidateResponse = z.infer<typeof CandidateResponseSchema>;
