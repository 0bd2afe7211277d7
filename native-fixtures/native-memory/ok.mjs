// native-memory, ok twin: the 64 KiB block is freed before returning.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/native_memory.node');

export const meta = {
  scenario: 'native-memory',
  twin: 'ok',
  asyncNames: ['fixture_native_memory_ok'],
  leakedAsyncPerIteration: 0,
  leakedNativeBytesPerIteration: 0,
};

export function iteration(i) {
  binding.ok();
}

/** Bytes this addon allocated and has not freed (process-wide). */
export function nativeBytesOutstanding() {
  return binding.nativeBytesOutstanding();
}
