/**
 * The benchmark model: one model of the default configuration (maxLen 200, d 64, 2 blocks), trained briefly on the
 * synthetic world: the kind `npm start`'s bootstrap serves. The trainer's default ensemble (4 members) costs about
 * 4x its encoding and download on the device (README, twelfth session).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_MODEL_DIR = join(ROOT, 'bench/.artifacts/default');

/** Trains it once (about a minute) and caches it in bench/.artifacts; returns its directory. */
export function ensureBenchModel(log: (...a: unknown[]) => void): string {
  if (!existsSync(join(BENCH_MODEL_DIR, 'manifest.json'))) {
    log('training the benchmark model (once; cached in bench/.artifacts)…');
    execFileSync(process.execPath, ['--import', 'tsx', 'packages/model/src/cli/train.ts', '--format', 'synthetic', '--data', 'synthetic:members=500', '--time-budget', '40', '--model.members', '1', '--out', BENCH_MODEL_DIR], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return BENCH_MODEL_DIR;
}
