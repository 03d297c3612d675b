import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests drive Debian's Chromium (Playwright cannot download browsers here). CHROMIUM_PATH overrides
 * the binary. The demo is built once and served by `vite preview`; each test starts its own API process.
 */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The demo's preview port; set DEMO_PREVIEW_PORT to run two checkouts' suites side by side. */
const demoPort = Number(process.env.DEMO_PREVIEW_PORT ?? 4173);
const demoUrl = `http://127.0.0.1:${demoPort}`;
const baseArgs = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export default defineConfig({
  testDir: '.',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  globalSetup: './global-setup.ts',
  workers: 1, // two cores, and tests start servers of their own
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: { baseURL: demoUrl, trace: 'off' },
  webServer: {
    command: 'npx vite build --config demo/vite.config.ts --logLevel warn && npx vite preview --config demo/vite.config.ts',
    cwd: '..',
    url: demoUrl,
    // Always a fresh build: a preview left running by an earlier run (or another checkout) would serve stale code.
    reuseExistingServer: false,
    timeout: 180_000,
  },
  projects: [
    {
      name: 'chromium-webgpu',
      grepInvert: /@no-webgpu/,
      use: { launchOptions: { executablePath, args: [...baseArgs, '--enable-unsafe-webgpu'] } },
    },
    {
      name: 'chromium-no-webgpu',
      grep: /@no-webgpu/,
      use: { launchOptions: { executablePath, args: baseArgs } },
    },
  ],
});
