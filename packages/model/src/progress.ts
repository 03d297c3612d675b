/** Terminal progress line on stderr: epoch, loss, positions/s, ETA. Falls back to one line per epoch off a TTY. */
import type { EpochLog, Progress } from './train.ts';

const fmtTime = (s: number) => {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
};
const fmtRate = (r: number) => (r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r.toFixed(0));

export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  return {
    onProgress(p: Progress) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && p.step < p.steps) return;
      lastDraw = now;
      const width = 24;
      const fill = Math.round((p.step / p.steps) * width);
      const bar = '#'.repeat(fill) + '-'.repeat(width - fill);
      const best = p.bestVal >= 0 ? ` | best val NDCG@10 ${p.bestVal.toFixed(4)}` : '';
      stream.write(`\repoch ${p.epoch}/${p.maxEpochs} [${bar}] ${Math.round((p.step / p.steps) * 100)}% loss ${p.loss.toFixed(4)} | ${fmtRate(p.positionsPerSec)} pos/s | ETA ${fmtTime(p.etaSec)}${best}\x1b[K`);
    },
    /** `label` names whose epoch it is where several models train at once ("member 2/3"). */
    onEpoch(e: EpochLog, label?: string) {
      stream.write(`${tty ? '\r\x1b[K' : ''}${label ? `${label} ` : ''}epoch ${e.epoch} loss ${e.loss.toFixed(4)} val NDCG@10 ${e.valNdcg10.toFixed(4)} ${fmtRate(e.positionsPerSec)} pos/s t=${e.seconds.toFixed(0)}s\n`);
    },
  };
}
