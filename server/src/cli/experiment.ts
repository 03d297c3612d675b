/**
 * `npm run experiment -- results ID [--json]`: an experiment's results from a running API (the API holds the
 * DuckDB file, so the CLI asks it). `MARQUEE_API` (default http://127.0.0.1:$PORT, 8787) and `ADMIN_TOKEN`.
 * `npm run experiment -- list` prints the definitions.
 */
import { parseArgs } from 'node:util';
import { ExperimentResultsSchema, ExperimentsDocumentSchema, type ExperimentResults } from '@marquee/core';
import { loadConfig } from '../config.ts';

const {
  positionals: [cmd, id],
  values: { json },
} = parseArgs({ allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
const config = loadConfig();
const api = (process.env.MARQUEE_API ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, '');
const headers = { authorization: `Bearer ${config.adminToken}` };

async function get(path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${api}${path}`, { headers });
  } catch (err) {
    throw new Error(`cannot reach the API at ${api} (${(err as Error).message}); start it with npm run server or set MARQUEE_API`);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status} ${(body as { error?: string }).error ?? ''} ${(body as { detail?: string }).detail ?? ''}`.trim());
  return body;
}

const pct = (x: number | undefined) => (x === undefined ? '' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`);
const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));
const ci = (c: readonly [number, number]) => `[${num(c[0])}, ${num(c[1])}]`;

function print(r: ExperimentResults): void {
  console.log(`experiment ${r.experiment} (control ${r.control}), computed in ${r.tookMs} ms`);
  console.log(`exposed units: ${r.units.map((u) => `${u.variant} ${u.exposed}`).join(', ')}`);
  console.log(`sample ratio: chi2 ${r.srm.chiSquare.toFixed(2)}, p ${r.srm.pValue.toPrecision(3)}${r.srm.mismatch ? '  ** SAMPLE RATIO MISMATCH: do not trust these results **' : ' (ok)'}`);
  if (r.unitsInSeveralVariants > 0) console.log(`** ${r.unitsInSeveralVariants} units were exposed to more than one variant **`);
  for (const m of r.metrics) {
    console.log(`\n${m.metric} (${m.kind}): ${m.arms.map((a) => `${a.variant} ${num(a.value)} (n ${a.n})`).join(', ')}`);
    for (const v of m.vsControl) {
      const f = v.fixedHorizon;
      console.log(`  ${v.variant} - ${r.control}: ${num(f.estimate)} ${pct(f.relative)}  95% CI ${ci(f.ci)}  p ${f.pValue.toPrecision(3)}`);
      console.log(`    always-valid CI ${ci(v.alwaysValid.ci)}  p ${v.alwaysValid.pValue.toPrecision(3)}`);
      if (v.cuped) console.log(`    CUPED ${num(v.cuped.estimate)} ${pct(v.cuped.relative)}  CI ${ci(v.cuped.ci)}  (interval ${(100 * (1 - v.cuped.widthRatio)).toFixed(0)}% narrower)`);
    }
  }
  for (const il of r.interleaving ?? []) {
    const p = il.preference;
    console.log(`\ninterleaving (${il.variant}): ${il.units} units; impressions A ${il.impressions.A} / B ${il.impressions.B}; plays A ${il.plays.A} / B ${il.plays.B}`);
    console.log(`  units won by A ${il.wins.A}, by B ${il.wins.B}, ties ${il.wins.ties}; preference for A ${num(p.estimate)}  95% CI ${ci(p.ci)}  p ${p.pValue.toPrecision(3)}`);
  }
  console.log(`\ninference: ${r.inference.fixedHorizon}; ${r.inference.alwaysValid}; ${r.inference.cuped}`);
}

try {
  if (cmd === 'results' && id && id !== '--json') {
    const r = ExperimentResultsSchema.parse(await get(`/v1/experiments/${encodeURIComponent(id)}/results`));
    if (json) console.log(JSON.stringify(r));
    else print(r);
  } else if (cmd === 'list') {
    const d = ExperimentsDocumentSchema.parse(await get('/v1/experiments/admin'));
    if (json) console.log(JSON.stringify(d));
    else for (const e of d.experiments) console.log(`${e.id}  traffic ${e.traffic}  variants ${e.variants.map((v) => `${v.id}:${v.weight}`).join(' ')}${e.layer ? `  layer ${e.layer.id} [${e.layer.from}, ${e.layer.to})` : ''}`);
  } else {
    console.error('usage: npm run experiment -- results ID [--json] | list [--json]   (MARQUEE_API, ADMIN_TOKEN)');
    process.exit(2);
  }
} catch (err) {
  console.error(`experiment: ${(err as Error).message}`);
  process.exit(1);
}
