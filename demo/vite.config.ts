import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo calls the API on its own origin (/v1, /healthz), proxied to the API server, unless the page is opened
// with ?api=URL (the end-to-end tests point each page at their own server that way).
const api = process.env.MARQUEE_API ?? 'http://127.0.0.1:8787';
const proxy = { '/v1': api, '/healthz': api };

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  server: { port: 5173, strictPort: true, host: '127.0.0.1', proxy },
  preview: { port: Number(process.env.DEMO_PREVIEW_PORT ?? 4173), strictPort: true, host: '127.0.0.1', proxy },
  worker: { format: 'es' },
  // The SDK imports tfjs backends on demand: pre-bundle them with tfjs-core at start, so `vite dev` never
  // discovers one late (a reload, and for a moment a second tfjs-core the backend would register with).
  optimizeDeps: { include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // Every browser the SDK runs in has modulepreload; the polyfill's first DOM call cost 2 ms of the page's first task.
    modulePreload: { polyfill: false },
    // Two pages: the demo homepage and the analytics dashboard (dashboard.html).
    rollupOptions: { input: { main: fileURLToPath(new URL('index.html', import.meta.url)), dashboard: fileURLToPath(new URL('dashboard.html', import.meta.url)) } },
  },
});
