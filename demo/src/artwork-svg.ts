/**
 * Deterministic artwork images for the demo: an SVG per artwork, drawn from its themes (so each theme looks different
 * at a glance) and varied by a hash of its id (so two artworks of a title with the same themes still differ).
 */
const PALETTES: Record<string, [string, string, string]> = {
  dark: ['#07070c', '#1c1426', '#8a1c2b'],
  bright: ['#ffe066', '#4dd6ff', '#ff7b00'],
  'close-up': ['#3b2a24', '#c98b6b', '#f2d0b5'],
  landscape: ['#1d3a5f', '#4f8a5b', '#f4c06b'],
  villain: ['#120406', '#5a0a12', '#ff2a2a'],
  romance: ['#5c1a3a', '#ff7eb3', '#ffd1e3'],
  comedic: ['#ff9f1c', '#ffe066', '#2ec4b6'],
  action: ['#1b1b1b', '#ff4d00', '#ffd000'],
  ensemble: ['#2b2d42', '#8d99ae', '#edf2f4'],
  mystery: ['#1a1033', '#5b3f8c', '#b9a7ff'],
  family: ['#2d6a4f', '#95d5b2', '#ffd166'],
  'text-heavy': ['#f1f1f1', '#333333', '#999999'],
  clickbait: ['#ff0033', '#ffee00', '#ffffff'],
};
const FALLBACK: [string, string, string] = ['#333a44', '#6c7a89', '#c8d1da'];

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The motif a theme contributes, in a 160 x 90 box. */
function motif(theme: string, c: [string, string, string], r: number): string {
  const x = 30 + (r % 100);
  switch (theme) {
    case 'dark': return `<rect width="160" height="90" fill="#000" opacity=".45"/><circle cx="${x}" cy="24" r="9" fill="${c[2]}" opacity=".5"/>`;
    case 'bright': return `<circle cx="${x}" cy="28" r="20" fill="${c[2]}"/>${[0, 1, 2, 3, 4, 5].map((k) => `<line x1="${x}" y1="28" x2="${x + 34 * Math.cos(k)}" y2="${28 + 34 * Math.sin(k)}" stroke="${c[2]}" stroke-width="3"/>`).join('')}`;
    case 'close-up': return `<circle cx="80" cy="58" r="34" fill="${c[2]}"/><circle cx="68" cy="52" r="4" fill="${c[0]}"/><circle cx="92" cy="52" r="4" fill="${c[0]}"/>`;
    case 'landscape': return `<polygon points="0,90 ${x - 30},40 ${x},70 ${x + 40},30 160,90" fill="${c[1]}"/><circle cx="130" cy="20" r="8" fill="${c[2]}"/>`;
    case 'villain': return `<ellipse cx="80" cy="70" rx="26" ry="40" fill="#000"/><circle cx="72" cy="52" r="3" fill="${c[2]}"/><circle cx="88" cy="52" r="3" fill="${c[2]}"/>`;
    case 'romance': return `<path d="M${x} 40 c-10 -14 -30 -4 0 22 c30 -26 10 -36 0 -22z" fill="${c[1]}"/>`;
    case 'comedic': return `<circle cx="${x}" cy="45" r="18" fill="${c[1]}"/><path d="M${x - 10} 50 q10 10 20 0" stroke="${c[0]}" stroke-width="3" fill="none"/>`;
    case 'action': return [0, 1, 2, 3].map((k) => `<line x1="${k * 40}" y1="90" x2="${k * 40 + 50}" y2="0" stroke="${c[1]}" stroke-width="6" opacity=".8"/>`).join('');
    case 'ensemble': return [0, 1, 2, 3, 4].map((k) => `<circle cx="${20 + k * 30}" cy="${60 - (k % 2) * 8}" r="11" fill="${c[2]}"/>`).join('');
    case 'mystery': return `<rect width="160" height="90" fill="${c[1]}" opacity=".35"/><text x="${x}" y="62" font-size="44" fill="${c[2]}" font-family="serif">?</text>`;
    case 'family': return `<polygon points="${x - 20},55 ${x},35 ${x + 20},55" fill="${c[2]}"/><rect x="${x - 16}" y="55" width="32" height="22" fill="${c[1]}"/>`;
    case 'text-heavy': return [0, 1, 2, 3, 4].map((k) => `<rect x="12" y="${14 + k * 12}" width="${100 + ((r >> k) % 40)}" height="5" fill="${c[1]}"/>`).join('');
    case 'clickbait': return `<text x="10" y="60" font-size="40" font-weight="900" fill="${c[1]}" stroke="#000" stroke-width="2">!!</text><polygon points="100,20 150,45 100,70" fill="${c[1]}" stroke="#000"/>`;
    default: return '';
  }
}

export function artworkSvg(artworkId: string, themes: readonly string[]): string {
  const r = hash(artworkId);
  const main = PALETTES[themes[0] ?? ''] ?? FALLBACK;
  const angle = r % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 90" preserveAspectRatio="xMidYMid slice" aria-hidden="true">
<defs><linearGradient id="g${r}" gradientTransform="rotate(${angle % 90})"><stop offset="0" stop-color="${main[0]}"/><stop offset="1" stop-color="${main[1]}"/></linearGradient></defs>
<rect width="160" height="90" fill="url(#g${r})"/>${themes.map((t) => motif(t, PALETTES[t] ?? FALLBACK, r)).join('')}</svg>`;
}
