/**
 * Trains the small models the e2e tests serve (a few seconds each): A is published first, B is the upgrade, 'home'
 * learns the default synthetic catalog well enough to personalize. Kept under e2e/.artifacts (ignored) and reused
 * across runs, keyed by a hash of the model's code and the trainer arguments: a change to either trains them again.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));

const COMMON = ['--format', 'synthetic', '--model.dim', '32', '--model.maxLen', '50'];
/** name -> trainer arguments. */
const MODELS: Record<string, string[]> = {
  a: ['--data', 'synthetic:members=200,titles=300,sessionsPerMember=10', '--seed', '1', '--epochs', '3', '--time-budget', '30'],
  // The upgrade is an ensemble of two models (artifact format 4: the served vectors are the members' side by side),
  // each with an input-only item table, a recency bias in attention and a per-title score bias (a bias column), so
  // the browser's scores are checked on format 1 and on everything format 4 can hold.
  b: ['--data', 'synthetic:members=200,titles=300,sessionsPerMember=10', '--seed', '2', '--epochs', '3', '--time-budget', '30', '--model.untiedInput', '1', '--model.recencyBias', '1', '--model.itemBias', '1', '--model.members', '2'],
  // One model (the bootstrap's kind), not the trainer's default ensemble: the tests need it to personalize, in 40 s.
  home: ['--data', 'synthetic:members=500', '--seed', '1', '--time-budget', '40', '--model.members', '1'],
};

/** Every source file a trained artifact depends on: the model package and the synthetic world it learns. */
function codeHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) h.update(path.slice(ROOT.length)).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'packages/model/src'));
  walk(join(ROOT, 'packages/core/src/synthetic'));
  return h.digest('hex').slice(0, 12);
}

export default function globalSetup(): void {
  const code = codeHash();
  for (const [name, args] of Object.entries(MODELS)) {
    const out = `${ARTIFACTS}${name}`;
    const stamp = `${out}.key`; // beside the artifact, which must hold only its manifest's files
    const key = `${code} ${[...COMMON, ...args].join(' ')}`;
    if (existsSync(`${out}/manifest.json`) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) continue;
    rmSync(out, { recursive: true, force: true });
    execFileSync(process.execPath, ['--import', 'tsx', 'packages/model/src/cli/train.ts', ...COMMON, '--out', out, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(stamp, key);
  }
}
