// Per iteration: one real, never-destroyed AsyncResource "test_lookalike",
// plus two plain objects that only look like agent records (same
// Symbol.toStringTag, so DevTools shows them as "napi:test_lookalike" too)
// and one object of a class named like the agent's registry, without its
// marker. The analyzer must count 1 record per iteration.
import { AsyncResource } from 'node:async_hooks';

const kept = [];

class FakeRecord {
  get [Symbol.toStringTag]() {
    return 'napi:test_lookalike';
  }
}

class NapiHeapdiffRegistry {
  constructor() {
    this.marker = 'not the agent';
  }
}

export function iteration(i) {
  new AsyncResource('test_lookalike', { requireManualDestroy: true });
  const tagged = Object.create(null);
  Object.defineProperty(tagged, Symbol.toStringTag, { value: 'napi:test_lookalike' });
  kept.push(tagged, Object.assign(Object.create({ [Symbol.toStringTag]: 'napi:test_lookalike' }), { type: 'test_lookalike', asyncId: String(i) }), new FakeRecord(), new NapiHeapdiffRegistry());
}
