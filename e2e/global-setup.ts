/**
 * Trains two small models on the synthetic world (a few seconds each) for the model tests: A is published first,
 * B is the upgrade. Kept under e2e/.artifacts (ignored) and reused across runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));

/** name -> trainer arguments. 'home' learns the default synthetic catalog (2,000 titles) well enough to personalize. */
const MODELS: Record<string, string[]> = {
  a: ['--data', 'synthetic:members=200,titles=300,sessionsPerMember=10', '--seed', '1', '--epochs', '3', '--time-budget', '30'],
  b: ['--data', 'synthetic:members=200,titles=300,sessionsPerMember=10', '--seed', '2', '--epochs', '3', '--time-budget', '30'],
  home: ['--data', 'synthetic:members=500', '--seed', '1', '--time-budget', '40'],
};

export default function globalSetup(): void {
  for (const [name, args] of Object.entries(MODELS)) {
    const out = `${ARTIFACTS}${name}`;
    if (existsSync(`${out}/manifest.json`)) continue;
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'packages/model/src/cli/train.ts', '--format', 'synthetic', '--out', out, '--model.dim', '32', '--model.maxLen', '50', ...args],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
}
