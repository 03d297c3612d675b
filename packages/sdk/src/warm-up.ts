/**
 * tfjs-backend-webgpu's compile-only mode, for compiling a page's GPU pipelines ahead of need (while a model
 * downloads): programs meet their pipelines (created with createComputePipelineAsync, in parallel) and none is
 * dispatched. Its pipeline keys hold ranks and dtypes, not sizes, so the real shapes later find them.
 */
import * as tf from '@tensorflow/tfjs-core';

const COMPILE_ONLY = 'WEBGPU_ENGINE_COMPILE_ONLY';

/** Runs `fn` compile-only. The flag is global: on only while `fn` runs synchronously, so no other task's op is skipped. */
export function compileOnly<T>(fn: () => T): T {
  tf.env().set(COMPILE_ONLY, true);
  try {
    return fn();
  } finally {
    tf.env().set(COMPILE_ONLY, false);
  }
}

/**
 * Resolves once every pipeline `compileOnly` started is compiled: tfjs throws if a program meets one still compiling.
 * Other backends have no such queue (and ran `fn`'s ops for real): nothing to wait for.
 */
export async function pipelinesCompiled(): Promise<void> {
  await (tf.backend() as { checkCompileCompletionAsync?(): Promise<void> }).checkCompileCompletionAsync?.();
}
