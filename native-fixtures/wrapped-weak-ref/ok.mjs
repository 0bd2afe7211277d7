// wrapped-weak-ref, ok twin: the same 1000 wraps per iteration; each reference is
// deleted by the finalizer when its object is collected, so nothing grows.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/wrapped_weak_ref.node');
const OBJECTS_PER_ITERATION = 1000;

export const meta = {
  scenario: 'wrapped-weak-ref',
  twin: 'ok',
  asyncNames: [],
  leakedAsyncPerIteration: 0,
  leakedNativeReferencesPerIteration: 0,
};

export function iteration(i) {
  binding.ok(OBJECTS_PER_ITERATION);
}

/** References napi_wrap returned and nobody deleted (those of collected objects included). */
export function nativeOpenReferences() {
  return binding.nativeOpenReferences();
}
