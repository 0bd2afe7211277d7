// native-memory, leak twin: each call mallocs and touches 64 KiB and never
// frees it, inside a correctly paired napi_async_init/destroy. Invisible to
// heap snapshots and to async_hooks (init == destroy); only RSS grows.
// Per iteration: 65536 native bytes leaked, 0 async contexts.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/native_memory.node');

export const meta = {
  scenario: 'native-memory',
  twin: 'leak',
  asyncNames: ['fixture_native_memory'],
  leakedAsyncPerIteration: 0,
  leakedNativeBytesPerIteration: binding.BLOCK_SIZE,
};

export function iteration(i) {
  binding.leak();
}

/** Bytes this addon allocated and has not freed (process-wide). */
export function nativeBytesOutstanding() {
  return binding.nativeBytesOutstanding();
}
