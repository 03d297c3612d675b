// Prints the WebGPU adapter Dawn (the npm package `webgpu`) finds here, as one JSON line: what bench/gpu/run.sh
// checks before it spends time benchmarking, and the device line of the report. Exit 0 with an adapter, 2 without.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log(JSON.stringify({ ok: false, reason: 'no adapter' }));
  process.exit(2);
}
const info = adapter.info ?? {};
const limits = adapter.limits ?? {};
console.log(
  JSON.stringify({
    ok: true,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    fallback: adapter.isFallbackAdapter ?? null,
    features: [...(adapter.features ?? [])].sort(),
    maxBufferSize: limits.maxBufferSize,
  }),
);
process.exit(0);
