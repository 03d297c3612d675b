/**
 * The tfjs wasm backend and where its binaries come from. Loaded only when the `backends` option names wasm, so a
 * player without it never downloads this code or the binaries.
 *
 * By default the binaries are files next to this code, which the app's bundler (Vite, webpack) or the packed SDK
 * (`new URL(..., import.meta.url)`) serves from the app's own origin; `wasmPaths` (a URL prefix ending in '/')
 * serves them from elsewhere, e.g. a CDN.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerFastWasmKernels } from '@marquee/model';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export function configureWasm(wasmPaths?: string): void {
  registerFastWasmKernels(); // the stock GatherV2 and BatchMatMul are most of a page's time on wasm
  if (wasmPaths) {
    setWasmPaths(wasmPaths.endsWith('/') ? wasmPaths : `${wasmPaths}/`);
    return;
  }
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
}
