/** The debug drawer's artwork panel: for a card, the artwork chosen, its propensity, the policy and what it rests on. */
import type { PageTitle } from '@marquee/sdk';
import { artworkSvg } from './artwork-svg.ts';

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

export function showArtworkDebug(t: PageTitle): void {
  const panel = document.querySelector<HTMLElement>('#debug-artwork');
  if (!panel) return;
  const a = t.artwork;
  const d = a.debug;
  panel.dataset.title = t.titleId;
  panel.innerHTML = `<h3>Artwork</h3><div class="chosen">${artworkSvg(a.artworkId, a.themes)}</div>
    <dl><dt>Title</dt><dd class="t"></dd><dt>Artwork</dt><dd class="a"></dd><dt>Propensity</dt><dd class="p"></dd>
    <dt>Policy</dt><dd class="pol"></dd><dt>Learned from</dt><dd class="n"></dd><dt>Taste</dt><dd class="taste"></dd></dl>
    <table><thead><tr><th>artwork</th><th>themes</th><th>population</th><th>score</th><th>P(chosen)</th></tr></thead><tbody></tbody></table>`;
  panel.querySelector('.t')!.textContent = t.name;
  panel.querySelector('.a')!.textContent = `${a.artworkId} (${a.themes.join(', ')})`;
  panel.querySelector('.p')!.textContent = a.propensity.toFixed(4);
  panel.querySelector('.pol')!.textContent = a.policy ? `${a.policy} ${a.policyVersion ?? ''}${d?.sticky ? ` · kept since ${new Date(d.chosenAt).toLocaleTimeString()}` : ' · chosen now'}` : 'none (first artwork)';
  panel.querySelector('.n')!.textContent = d ? `${d.updates} settled impressions, ${d.historyPlays} titles played` : '–';
  panel.querySelector('.taste')!.textContent = d?.taste.length ? d.taste.map((x) => `${x.theme} ${x.mean >= 0 ? '+' : ''}${x.mean.toFixed(3)} ± ${x.sd.toFixed(3)}`).join(', ') : 'nothing learned yet';
  panel.querySelector('tbody')!.replaceChildren(
    ...(d?.artworks ?? []).map((r) => {
      const tr = document.createElement('tr');
      if (r.artworkId === a.artworkId) tr.className = 'is-chosen';
      for (const v of [r.artworkId, r.themes.join(', '), r.rate.toFixed(4), r.score.toFixed(4), pct(r.probability)]) tr.append(Object.assign(document.createElement('td'), { textContent: v }));
      return tr;
    }),
  );
}
