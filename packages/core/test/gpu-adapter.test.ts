import { describe, expect, it } from 'vitest';
import { adapterKind, type GpuAdapterInfo } from '../src/index.ts';
import cases from './gpu-adapter-cases.json' with { type: 'json' };

// Golden vectors: the GPU-only work (the pipeline warm-up) runs on 'hardware' and nowhere else.
describe('adapterKind', () => {
  it.each(cases.adapterKind.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(adapterKind(c.info as GpuAdapterInfo)).toBe(c.expected);
  });
});
