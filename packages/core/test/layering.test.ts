/**
 * The house's layering, checked over every package's production sources (not a style rule: a harness imported by
 * the server ships in it, and an import running back up makes a circle). core at the ground, model above it, sdk and
 * server above model; test harnesses live under `<package>/testing/` and are imported by tests and benchmarks only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');

/** Production sources and the workspace packages each may import. */
const LAYERS = {
  'packages/core/src': [],
  'packages/model/src': ['@marquee/core'],
  'packages/sdk/src': ['@marquee/core', '@marquee/model'],
  'server/src': ['@marquee/core', '@marquee/model'],
} as const;

const TEST_ONLY = [/(^|\/)testing(\/|\.ts$|$)/, /(^|\/)test(\/|$)/, /^vitest/, /^fast-check/, /^fake-indexeddb/, /^@playwright\//];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec) found.push(spec);
  }
  return found;
}

describe('layering', () => {
  for (const [dir, allowed] of Object.entries(LAYERS)) {
    it(`${dir} imports no test harness and no package above it`, () => {
      const problems: string[] = [];
      const files = sources(join(ROOT, dir));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        for (const spec of specifiers(readFileSync(file, 'utf8'))) {
          const where = `${relative(ROOT, file)} imports ${spec}`;
          if (TEST_ONLY.some((re) => re.test(spec))) problems.push(`${where} (a test harness)`);
          const pkg = spec.match(/^@marquee\/[^/]+/)?.[0];
          if (pkg && !(allowed as readonly string[]).includes(pkg)) problems.push(`${where} (not below ${dir})`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('finds the imports it checks (the specifier scan is not blind)', () => {
    const text = "import { a } from '@marquee/core';\nexport { b } from '../testing/store.ts';\nconst m = await import('fast-check');\nimport 'fake-indexeddb/auto';";
    expect(specifiers(text)).toEqual(['@marquee/core', '../testing/store.ts', 'fast-check', 'fake-indexeddb/auto']);
  });
});
