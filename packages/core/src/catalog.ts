/** A title as the catalog API serves it and the device caches it. */
export interface CatalogTitle {
  id: string;
  name: string;
  genres: string[];
  year: number;
  runtimeMin: number;
  artworks: { id: string; themes: string[] }[];
}
