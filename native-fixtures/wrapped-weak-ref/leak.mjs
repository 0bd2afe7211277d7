// wrapped-weak-ref, leak twin: each iteration wraps 1000 new objects with
// napi_wrap (asking for the reference) and drops them; the references are
// never deleted. Nothing stays in the JS heap and no async context is
// involved: only native memory grows (Node's Reference objects).
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/wrapped_weak_ref.node');
const OBJECTS_PER_ITERATION = 1000;

export const meta = {
  scenario: 'wrapped-weak-ref',
  twin: 'leak',
  asyncNames: [],
  leakedAsyncPerIteration: 0,
  leakedNativeReferencesPerIteration: OBJECTS_PER_ITERATION,
};

export function iteration(i) {
  binding.leak(OBJECTS_PER_ITERATION);
}

/** References napi_wrap returned and nobody deleted (those of collected objects included). */
export function nativeOpenReferences() {
  return binding.nativeOpenReferences();
}
