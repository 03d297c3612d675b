/**
 * Context features of the artwork bandit. An artwork is described by its theme tags (one-hot over ARTWORK_THEMES,
 * divided by the number of tags); the viewer's context is a vector of taste weights over the same themes, learned on
 * the device. The score of an artwork for a viewer is the population's rate for it plus taste . features.
 *
 * Features are centred within a title (minus the mean over the title's artworks): the choice is always between the
 * artworks of one title, so only differences matter, and centring keeps the title's own appeal (which the artwork does
 * not change) out of the viewer's taste estimate.
 */

/** The theme vocabulary: the synthetic world's twelve themes plus clickbait. Unknown tags are ignored. */
export const ARTWORK_THEMES = Object.freeze([
  'romance', 'action', 'ensemble', 'close-up', 'landscape', 'dark', 'bright', 'comedic', 'mystery', 'family',
  'text-heavy', 'villain', 'clickbait',
] as const);
export const FEATURE_DIM = ARTWORK_THEMES.length;
const INDEX = new Map<string, number>(ARTWORK_THEMES.map((t, i) => [t, i]));

export function themeIndex(theme: string): number | undefined {
  return INDEX.get(theme);
}

/** One-hot over the known themes, divided by the number of known tags (all zero when none is known). */
export function artworkFeatures(themes: readonly string[]): Float64Array {
  const x = new Float64Array(FEATURE_DIM);
  let n = 0;
  for (const t of themes) if (INDEX.has(t)) n++;
  if (n === 0) return x;
  for (const t of themes) {
    const i = INDEX.get(t);
    if (i !== undefined) x[i] = (x[i] ?? 0) + 1 / n;
  }
  return x;
}

/** Features of every artwork of a title, centred on the title's mean. */
export function titleFeatures(artworks: readonly { themes: readonly string[] }[]): Float64Array[] {
  const xs = artworks.map((a) => artworkFeatures(a.themes));
  if (xs.length === 0) return xs;
  const mean = new Float64Array(FEATURE_DIM);
  for (const x of xs) x.forEach((v, i) => (mean[i] = (mean[i] ?? 0) + v / xs.length));
  for (const x of xs) mean.forEach((m, i) => (x[i] = (x[i] ?? 0) - m));
  return xs;
}
