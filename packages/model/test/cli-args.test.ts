import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/cli/args.ts';

describe('the train/eval CLI options', () => {
  it('reads named options, flags and open-ended --model.KEY / --train.KEY overrides', () => {
    const o = parseCliArgs(['--data', 'ml', '--format', 'movielens', '--model.dim', '128', '--train.logQ', '0', '--train.inBatchNegatives', '--seed', '7', '--json', '--backend', 'cpu', '--model', 'out/m'], 'usage');
    expect(o).toEqual({
      format: 'movielens', data: 'ml', out: undefined, modelDir: 'out/m', backend: 'cpu', baselines: true,
      model: { dim: 128 }, train: { logQ: 0, inBatchNegatives: true, seed: 7 }, json: true,
    });
    expect(parseCliArgs(['--no-baselines', '--model.dim=64'], 'usage')).toMatchObject({ format: 'synthetic', backend: 'wasm', baselines: false, model: { dim: 64 } });
  });

  it('refuses what it cannot use, saying which option', () => {
    expect(() => parseCliArgs(['--format', 'parquet'], 'usage')).toThrow(/--format must be one of/);
    expect(() => parseCliArgs(['stray'], 'usage')).toThrow(/unexpected argument stray/);
    expect(() => parseCliArgs(['--model.dim', 'wide'], 'usage')).toThrow(/--model\.dim needs a number, got wide/);
    expect(() => parseCliArgs(['--backend', 'tpu'], 'usage')).toThrow(/--backend must be one of/);
  });
});
