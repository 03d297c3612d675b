/**
 * The page's calls to the Marquee API from the worker: every answer is parsed with its contract in @marquee/core,
 * so a malformed one is an error naming the route and the problem, never a crash further down the page build.
 */
import {
  CandidateResponseSchema,
  CatalogSchema,
  WRITE_KEY_HEADER,
  parseContract,
  type CandidateRequestBody,
  type CandidateResponse,
  type CatalogTitle,
} from '@marquee/core';

export class ApiClient {
  constructor(
    /** Base URL without a trailing slash; '' is the page's own origin. */
    private readonly endpoint: string,
    /** Sent as `x-marquee-key`: the server checks it before reading a candidate request. */
    private readonly writeKey = '',
  ) {}

  async catalog(): Promise<CatalogTitle[]> {
    const res = await fetch(`${this.endpoint}/v1/catalog`);
    if (!res.ok) throw new Error(`GET /v1/catalog: HTTP ${res.status}`);
    return parseContract(CatalogSchema, await res.json(), 'GET /v1/catalog answered').titles;
  }

  async candidates(body: Partial<CandidateRequestBody>): Promise<CandidateResponse> {
    const res = await fetch(`${this.endpoint}/v1/candidates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WRITE_KEY_HEADER]: this.writeKey },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST /v1/candidates: HTTP ${res.status}`);
    return parseContract(CandidateResponseSchema, await res.json(), 'POST /v1/candidates answered');
  }
}
