/** The catalog's wire shape: what `GET /v1/catalog` serves, what a deployment's `catalog.json` holds, what the device caches. */
import { z } from 'zod';
import { wellFormedString } from './well-formed.ts';

export const CatalogTitleSchema = z.object({
  id: wellFormedString(1, 128),
  name: z.string(),
  genres: z.array(z.string()),
  year: z.number().int(),
  runtimeMin: z.number().nonnegative(),
  artworks: z.array(z.object({ id: z.string(), themes: z.array(z.string()) })),
});
export type CatalogTitle = z.infer<typeof CatalogTitleSchema>;

export const CatalogSchema = z.object({ titles: z.array(CatalogTitleSchema).min(1, 'a catalog needs at least one title') });
export type CatalogBody = z.infer<typeof CatalogSchema>;
