import { defineConfig } from 'vitest/config';

// One runner for every package's unit tests; browser behaviour is covered by e2e/ (Playwright).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'server/test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
