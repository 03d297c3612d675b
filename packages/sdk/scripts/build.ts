/**
 * Builds the installable SDK into packages/sdk/dist (the package root that `npm pack` turns into a tarball):
 *
 *   index.js            the main-thread facade (ESM, no tfjs)
 *   worker.js           the SDK's worker; probe-worker.js, the backend measurement's
 *   chunks/*.js         code loaded on demand: the tfjs path, and one chunk per backend (only the ones asked for)
 *   wasm/*.wasm         the tfjs wasm binaries, loaded only by the wasm backend
 *   index.d.ts, types/  declarations (the workspace's own code and zod's types travel inside: no dependencies)
 *
 * Workers, chunks and binaries are referenced as `new URL('./x', import.meta.url)`, the pattern Vite, webpack and a
 * plain `<script type="module">` page all load from next to the code. Everything (core, model, tfjs, zod, idb,
 * comlink) is bundled: the tarball installs without a registry.
 *
 *   npx tsx packages/sdk/scripts/build.ts [--pack] [--json]
 *
 * Prints the bytes a player downloads per backend set (raw, gzip, brotli) and fails when a budget is exceeded.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { rolldown, type OutputAsset, type OutputChunk, type Plugin } from 'rolldown';

const SDK = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(SDK, '../..');
const DIST = join(SDK, 'dist');
const require = createRequire(join(SDK, 'package.json'));

/** Brotli bytes a player may download, per backend set (worker code to a first page; wasm binaries apart). */
export const BUDGETS_BROTLI = {
  main: 6_000,
  worker: 60_000,
  'wasm-only': 160_000,
  'cpu-only': 160_000,
  all: 420_000,
} as const;

const FILE = '__MARQUEE_FILE__';

/** `?url` wasm imports become files under wasm/; worker scripts keep their place; both as import.meta.url URLs. */
function assets(): Plugin {
  return {
    name: 'marquee-assets',
    resolveId(id) {
      if (id.endsWith('.wasm?url')) return `\0wasm-url:${id.slice(0, -'?url'.length)}`;
      return null;
    },
    async load(id) {
      if (!id.startsWith('\0wasm-url:')) return null;
      const file = require.resolve(id.slice('\0wasm-url:'.length));
      const name = basename(file);
      this.emitFile({ type: 'asset', fileName: `wasm/${name}`, source: await readFile(file) });
      return `export default new URL(${JSON.stringify(`${FILE}wasm/${name}`)}, import.meta.url).href;`;
    },
    transform(code, id) {
      if (!/packages\/sdk\/src\/(client|ml)\.ts$/.test(id)) return null;
      return code.replace(/new URL\('\.\/(worker|probe-worker)\.ts'/g, `new URL('${FILE}$1.js'`);
    },
    renderChunk(code, chunk) {
      // Relative to the chunk that names it, so the URL resolves wherever the package is served from.
      return code.replace(new RegExp(`${FILE}([\\w./-]+)`, 'g'), (_, target: string) => {
        const rel = posix.relative(posix.dirname(chunk.fileName), target);
        return rel.startsWith('.') ? rel : `./${rel}`;
      });
    },
  };
}

async function bundle(): Promise<(OutputChunk | OutputAsset)[]> {
  const build = await rolldown({
    input: { index: join(SDK, 'src/index.ts'), worker: join(SDK, 'src/worker.ts'), 'probe-worker': join(SDK, 'src/probe-worker.ts') },
    platform: 'browser',
    plugins: [assets()],
    transform: { define: { 'process.env.NODE_ENV': '"production"' } },
    logLevel: 'warn',
  });
  const { output } = await build.write({
    dir: DIST,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: (c) => `chunks/${chunkName(c.facadeModuleId)}-[hash].js`,
    minify: true,
    sourcemap: false,
  });
  await build.close();
  return output;
}

/** Chunk names that say what they hold (a player's network panel shows which backend it downloaded). */
function chunkName(facade: string | null): string {
  const backend = facade?.match(/tfjs-backend-(\w+)\//)?.[1];
  if (backend) return `backend-${backend}`;
  if (facade?.endsWith('wasm-backend.ts')) return 'backend-wasm-setup';
  if (facade?.endsWith('src/ml.ts')) return 'ml';
  return 'shared';
}

/** Declarations: tsc emits the facade's and core's; zod's travel along; bare specifiers become relative paths. */
async function declarations(): Promise<void> {
  const out = join(DIST, 'types');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(SDK, 'tsconfig.types.json'), '--outDir', out], { stdio: 'inherit' });
  const zod = dirname(require.resolve('zod/package.json'));
  await cp(zod, join(out, 'zod'), { recursive: true, filter: (src) => !src.includes(`${zod}/src`) && (!/\.[cm]?[jt]s$/.test(src) || src.endsWith('.d.ts')) && !src.endsWith('package.json') && !src.endsWith('.md') });
  const targets: Partial<Record<string, string>> = { '@marquee/core': join(out, 'packages/core/src/index.js'), zod: join(out, 'zod/index.js') };
  for (const file of await walk(join(out, 'packages'))) {
    if (!file.endsWith('.d.ts')) continue;
    const text = (await readFile(file, 'utf8'))
      .replace(/(from\s+['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3')
      .replace(/(from\s+['"])(@marquee\/core|zod)(['"])/g, (_, a: string, spec: string, b: string) => {
        const target = targets[spec];
        if (target === undefined) throw new Error(`build:sdk: no bundled copy of ${spec} for ${file}`);
        const rel = relative(dirname(file), target).split('\\').join('/');
        return `${a}${rel.startsWith('.') ? rel : `./${rel}`}${b}`;
      });
    await writeFile(file, text);
  }
  await writeFile(join(DIST, 'index.d.ts'), "export * from './types/packages/sdk/src/index.js';\n");
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

async function manifest(): Promise<void> {
  const src = JSON.parse(await readFile(join(SDK, 'package.json'), 'utf8')) as { version: string };
  const pkg = {
    name: '@marquee/sdk',
    version: src.version,
    description: 'On-device personalization for web players: event tracking and a homepage ranked in a Web Worker.',
    type: 'module',
    exports: { '.': { types: './index.d.ts', import: './index.js' }, './package.json': './package.json' },
    types: './index.d.ts',
    files: ['index.js', 'index.d.ts', 'worker.js', 'probe-worker.js', 'chunks', 'wasm', 'types', 'README.md'],
    license: 'UNLICENSED',
  };
  await writeFile(join(DIST, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await cp(join(SDK, 'README.md'), join(DIST, 'README.md'));
}

interface Size {
  raw: number;
  gzip: number;
  brotli: number;
}

function sizes(output: (OutputChunk | OutputAsset)[]) {
  const chunks = new Map(output.filter((o): o is OutputChunk => o.type === 'chunk').map((c) => [c.fileName, c]));
  const closure = (names: string[]) => {
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const i of chunks.get(n)?.imports ?? []) visit(i);
    };
    names.forEach(visit);
    return seen;
  };
  const measure = (files: Set<string>): Size => {
    const s = { raw: 0, gzip: 0, brotli: 0 };
    for (const f of files) {
      const code = Buffer.from(chunks.get(f)!.code);
      s.raw += code.length;
      s.gzip += gzipSync(code, { level: 9 }).length;
      s.brotli += brotliCompressSync(code).length;
    }
    return s;
  };
  const find = (re: RegExp) => [...chunks.keys()].filter((f) => re.test(f));
  const tfjsPath = [...find(/^worker\.js$/), ...find(/^chunks\/ml-/)];
  const backend = (b: string) => find(new RegExp(`^chunks/backend-${b}(-setup)?-`));
  const sets: Record<string, string[]> = {
    'wasm-only': [...tfjsPath, ...backend('wasm')],
    'cpu-only': [...tfjsPath, ...backend('cpu')],
    'webgl+cpu': [...tfjsPath, ...backend('webgl'), ...backend('cpu')],
    'webgpu+wasm': [...tfjsPath, ...backend('webgpu'), ...backend('wasm')],
    // The default: all four, plus the probe worker that measures them on a first visit.
    all: [...tfjsPath, ...['webgpu', 'webgl', 'wasm', 'cpu'].flatMap(backend), 'probe-worker.js'],
  };
  const wasm = output.filter((o): o is OutputAsset => o.type === 'asset' && o.fileName.startsWith('wasm/'));
  return {
    main: measure(closure(['index.js'])),
    /** The worker up to its first event sent: no tfjs. */
    worker: measure(closure(['worker.js'].filter((f) => chunks.has(f)).flatMap((f) => [f, ...(chunks.get(f)!.imports ?? [])]))),
    sets: Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, measure(closure(v))])),
    wasmBinaries: Object.fromEntries(wasm.map((a) => [basename(a.fileName), { raw: a.source.length, brotli: brotliCompressSync(Buffer.from(a.source)).length }])),
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pack: { type: 'boolean' }, json: { type: 'boolean' } } });
  const t0 = Date.now();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const output = await bundle();
  await declarations();
  await manifest();
  const report = sizes(output);
  const log = values.json ? console.error : console.log;
  log(`built ${relative(ROOT, DIST)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  log(`| what | raw | gzip | brotli | budget (brotli) |\n|---|---|---|---|---|`);
  const row = (name: string, s: Size, budget?: number) => log(`| ${name} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.brotli)} | ${budget ? kb(budget) : ''} |`);
  row('main thread (index.js)', report.main, BUDGETS_BROTLI.main);
  row('worker, events only (no tfjs)', report.worker, BUDGETS_BROTLI.worker);
  for (const [name, s] of Object.entries(report.sets)) row(`worker + tfjs, backends ${name}`, s, BUDGETS_BROTLI[name as keyof typeof BUDGETS_BROTLI]);
  for (const [name, s] of Object.entries(report.wasmBinaries)) log(`| ${name} (loaded by wasm only; one of the three) | ${kb(s.raw)} | | ${kb(s.brotli)} | |`);
  const over = [
    ['main', report.main.brotli],
    ['worker', report.worker.brotli],
    ...Object.entries(report.sets).map(([k, s]) => [k, s.brotli] as const),
  ].filter(([k, v]) => k in BUDGETS_BROTLI && (v as number) > BUDGETS_BROTLI[k as keyof typeof BUDGETS_BROTLI]);
  let tarball: string | undefined;
  if (values.pack) {
    const out = execFileSync('npm', ['pack', DIST, '--pack-destination', SDK, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const [info] = JSON.parse(out) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    if (!info) throw new Error(`npm pack described no package: ${out}`);
    tarball = join(SDK, info.filename);
    log(`packed ${relative(ROOT, tarball)}: ${kb(info.size)} (${kb(info.unpackedSize)} unpacked, ${info.entryCount} files)`);
  }
  if (values.json) console.log(JSON.stringify({ ...report, budgets: BUDGETS_BROTLI, tarball }));
  if (over.length) {
    console.error(`over the size budget: ${over.map(([k, v]) => `${k} ${kb(v as number)} > ${kb(BUDGETS_BROTLI[k as keyof typeof BUDGETS_BROTLI])}`).join(', ')}`);
    process.exit(1);
  }
}

await main();
