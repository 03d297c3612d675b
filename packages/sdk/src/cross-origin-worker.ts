/**
 * A module worker whose script lives on another origin (the SDK's files on a CDN, `assetsBaseUrl`). Browsers only
 * start same-origin worker scripts, so a one-line same-origin module (a blob URL) imports the hosted one; its
 * chunks and wasm binaries then load next to it. The host must answer with CORS headers.
 */
export function crossOriginWorker(scriptUrl: string, name: string): Worker {
  const boot = URL.createObjectURL(new Blob([`import ${JSON.stringify(scriptUrl)};`], { type: 'text/javascript' }));
  const worker = new Worker(boot, { type: 'module', name });
  // Messages wait until the imported module has run, so nothing posted now is lost; the blob is not needed after.
  setTimeout(() => URL.revokeObjectURL(boot), 60_000);
  return worker;
}

/** Whether code loaded from `moduleUrl` may start workers from its own location directly. */
export const sameOrigin = (moduleUrl: string) => new URL(moduleUrl).origin === self.location.origin;
