/**
 * Trains two small models on the synthetic world (a few seconds each) for the model tests: A is published first,
 * B is the upgrade. Kept under e2e/.artifacts (ignored) and reused across runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));

export default function globalSetup(): void {
  for (const [name, seed] of [['a', 1], ['b', 2]] as const) {
    const out = `${ARTIFACTS}${name}`;
    if (existsSync(`${out}/manifest.json`)) continue;
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'packages/model/src/cli/train.ts', '--format', 'synthetic', '--data', 'synthetic:members=200,titles=300,sessionsPerMember=10',
        '--out', out, '--seed', String(seed), '--epochs', '3', '--time-budget', '30', '--model.dim', '32', '--model.maxLen', '50'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
}
