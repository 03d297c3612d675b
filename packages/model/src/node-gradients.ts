/**
 * Registers tfjs-core's gradient functions in Node.
 *
 * The CommonJS build of tfjs-core that Node loads (`dist/tf-core.node.js`) has no gradients; they live only in the
 * ES-module build (`dist/register_all_gradients.js`), whose relative imports have no file extensions and so do not
 * resolve under Node's ESM loader. A small resolve hook, scoped to files inside tfjs-core's `dist/`, adds the
 * extension. Both copies of tfjs-core share one engine and one gradient registry (tfjs keeps them on the global
 * object), so the registered gradients serve the tensors of the copy the model uses.
 */
import { register } from 'node:module';

const hook = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    const file = new URL(specifier + '.js', parent);
    const url = existsSync(fileURLToPath(file)) ? file.href : new URL(specifier + '/index.js', parent).href;
    return next(url, context);
  }
  return next(specifier, context);
}
`;

let done: Promise<void> | undefined;

export function registerNodeGradients(): Promise<void> {
  done ??= (async () => {
    register('data:text/javascript,' + encodeURIComponent(hook), import.meta.url);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
  })();
  return done;
}
