/**
 * The SDK as a web player gets it: `npm run pack:sdk`'s tarball installed into a fresh project outside the workspace
 * (no registry: the tarball carries everything), built with Vite, built with webpack 5, and also loaded by a plain
 * `<script type="module">` page through an import map. In Chromium each tracks events and renders a homepage
 * against a real API process, downloading only the backend it asked for.
 */
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ARTIFACTS } from './global-setup.ts';
import { test, expect } from './fixtures.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The player's own code: the same file for the Vite build and the plain page. */
const MAIN_JS = `
import { createPersonalizer } from '@marquee/sdk';

const assetsBaseUrl = new URLSearchParams(location.search).get('assets') ?? undefined;
const marquee = createPersonalizer({ endpoint: '', writeKey: 'dev-write-key', backends: ['wasm'], batch: { maxAgeMs: 200 }, assetsBaseUrl });

async function render() {
  const page = await marquee.homepage();
  const rows = page.rows.map((row) => {
    const section = document.createElement('section');
    section.className = 'row';
    section.dataset.row = row.id;
    const h = document.createElement('h2');
    h.textContent = row.title + ' (' + row.reason + ')';
    const list = document.createElement('ol');
    for (const t of row.items) {
      const li = document.createElement('li');
      li.textContent = t.name;
      list.append(li);
    }
    section.append(h, list);
    return section;
  });
  document.querySelector('#rows').replaceChildren(...rows);
  let tracked = 0;
  for (const row of page.rows) {
    for (const [position, t] of row.items.entries()) {
      await marquee.impression({ titleId: t.titleId, row: row.title, position, artwork: { artworkId: t.artwork.artworkId, propensity: t.artwork.propensity } });
      tracked++;
    }
  }
  return { modelVersion: page.modelVersion, encode: page.encode, rows: page.rows.map((r) => r.id), tracked };
}

window.player = { marquee, render };
`;

const HTML = (head: string) => `<!doctype html><html><head><meta charset="utf-8"><title>fresh player</title>${head}</head>
<body><main id="rows"></main><script type="module" src="${head ? '/main.js' : './main.js'}"></script></body></html>`;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Serves `dir` and passes /v1 to the API, so the player calls its own origin as a real site would. */
async function serve(dir: string, api: () => string, cors = false): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    if (cors) res.setHeader('access-control-allow-origin', '*');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.startsWith('/v1/')) {
      const target = new URL(req.url!, api());
      const up = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
      return;
    }
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

let project = '';

test.beforeAll(async () => {
  test.setTimeout(600_000);
  const built = await run('npx', ['tsx', 'packages/sdk/scripts/build.ts', '--pack', '--json'], { cwd: ROOT, maxBuffer: 1 << 24 });
  const { tarball } = JSON.parse(built.stdout.trim().split('\n').at(-1)!) as { tarball: string };
  project = await mkdtemp(join(tmpdir(), 'marquee-fresh-player-'));
  expect(project.startsWith(ROOT)).toBe(false);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh-player', private: true, type: 'module', dependencies: { '@marquee/sdk': `file:${tarball}` } }));
  // --offline: the tarball must carry everything it needs.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });
  const installed = JSON.parse(await readFile(join(project, 'node_modules/@marquee/sdk/package.json'), 'utf8'));
  expect(installed.dependencies ?? {}).toEqual({});
  await writeFile(join(project, 'main.js'), MAIN_JS);
  await writeFile(join(project, 'index.html'), HTML(''));
  await writeFile(join(project, 'plain.html'), HTML('<script type="importmap">{"imports":{"@marquee/sdk":"/node_modules/@marquee/sdk/index.js"}}</script>'));
  // The workspace's Vite, run in the fresh project; the SDK's worker splits code, so it is an ES module worker.
  await writeFile(join(project, 'vite.config.js'), `export default { base: '/dist/', worker: { format: 'es' }, build: { outDir: 'dist', rollupOptions: { input: 'index.html' } } };\n`);
  await run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: project, maxBuffer: 1 << 24 });
  // webpack 5 with no loader or plugin: it follows the SDK's `new Worker(new URL(...))`, its dynamic imports and
  // the wasm binaries' `new URL(..., import.meta.url)` by itself. Named chunks, so the requests show which backend
  // came down; not minified, to keep the test quick (minifying changes no URL).
  await writeFile(
    join(project, 'webpack.config.js'),
    `export default { mode: 'production', entry: './main.js', optimization: { chunkIds: 'named', minimize: false },
  output: { path: new URL('./webpack-dist/', import.meta.url).pathname, publicPath: 'auto', clean: true } };\n`,
  );
  await run(process.execPath, [join(ROOT, 'node_modules/webpack-cli/bin/cli.js'), '--config', 'webpack.config.js', '--no-stats'], { cwd: project, maxBuffer: 1 << 24 });
  await writeFile(join(project, 'webpack-dist/index.html'), HTML('').replace('<script type="module" src="./main.js">', '<script src="./main.js">'));
});

test.afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

test('the packed types check a TypeScript player strictly, with no dependency to install', async () => {
  await writeFile(
    join(project, 'app.ts'),
    `import { createPersonalizer, type HomePage, type IdentityState } from '@marquee/sdk';
const m = createPersonalizer({ writeKey: 'wk', backends: ['wasm'] });
const id: string | null = await m.playStart({ titleId: 't1', artwork: { artworkId: 'a', propensity: 0.5 } });
// @ts-expect-error a progress event needs a position and a duration
await m.track({ type: 'progress', titleId: 't1' });
const who: IdentityState = await m.optOut({ personalization: true });
const page: HomePage = await m.homepage();
console.log(id, who.consent.tracking, page.rows[0]?.items[0]?.artwork.propensity);
`,
  );
  const tsconfig = { compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, skipLibCheck: false, noEmit: true, lib: ['ES2023', 'DOM'], types: [] }, files: ['app.ts'] };
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
  // Throws with tsc's errors if the declarations are missing, wrong, or reach for a package that is not there.
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project });
});

for (const [how, path] of [
  ['built with Vite', '/dist/index.html'],
  ['built with webpack', '/webpack-dist/index.html'],
  ['a plain <script type="module"> page', '/plain.html'],
  ['hosted on another origin (assetsBaseUrl)', '/cdn.html'],
] as const) {
  test(`the packed SDK, ${how}, tracks events and renders a homepage from a fresh project`, async ({ page, api }) => {
    const version = await api.publishModel(`${ARTIFACTS}home`);
    const site = await serve(project, () => api.url);
    // A "CDN": the same files from another origin, with CORS. The page takes the SDK, its worker, chunks and
    // binaries from there, and talks to the API on its own origin.
    const cdn = await serve(project, () => api.url, true);
    const sdkOnCdn = `${cdn.url}/node_modules/@marquee/sdk/`;
    await writeFile(join(project, 'cdn.html'), HTML(`<script type="importmap">{"imports":{"@marquee/sdk":"${sdkOnCdn}index.js"}}</script>`));
    const requests: string[] = [];
    const origins: string[] = [];
    page.on('request', (r) => {
      requests.push(new URL(r.url()).pathname);
      origins.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${site.url}${path}${path === '/cdn.html' ? `?assets=${encodeURIComponent(sdkOnCdn)}` : ''}`);
      await page.waitForFunction(() => 'player' in window);
      await expect.poll(() => page.evaluate(() => (window as never as Player).player.marquee.modelStatus().then((s) => s.version)), { timeout: 60_000 }).toBe(version);
      const played = await page.evaluate(async () => {
        const { marquee } = (window as never as Player).player;
        for (const titleId of ['t0005', 't0012']) {
          await marquee.playStart({ titleId });
          await marquee.complete({ titleId, position: 5400, duration: 5400 });
        }
        return 4;
      });
      const shown = await page.evaluate(() => (window as never as Player).player.render());
      expect(shown.modelVersion).toBe(version);
      expect(shown.encode).not.toMatch(/no-model|no-history/);
      expect(shown.rows).toContain('top');
      await expect(page.locator('section.row').first()).toBeVisible();
      expect(await page.locator('section.row li').count()).toBeGreaterThan(10);
      await page.evaluate(() => (window as never as Player).player.marquee.flush());
      await api.expectCount(played + shown.tracked);
      // Only the backend it asked for came down: the wasm code and a binary, never webgl or webgpu.
      expect(requests.some((p) => p.endsWith('.wasm'))).toBe(true);
      expect(requests.filter((p) => /webgl|webgpu/.test(p))).toEqual([]);
      expect(errors).toEqual([]);
      if (path === '/cdn.html') {
        const fromCdn = origins.filter((u) => u.startsWith(cdn.url));
        for (const file of ['/index.js', '/worker.js', '.wasm']) expect(fromCdn.some((u) => u.endsWith(file)), file).toBe(true);
      }
    } finally {
      for (const s of [site, cdn]) {
        s.server.closeAllConnections();
        s.server.close();
      }
    }
  });
}

type Player = {
  player: {
    marquee: import('@marquee/sdk').Personalizer;
    render(): Promise<{ modelVersion: string | null; encode: string; rows: string[]; tracked: number }>;
  };
};
