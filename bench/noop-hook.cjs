// The floor of any async_hooks agent: the same hooks as dist/agent/agent.cjs (init, before, after,
// destroy), doing nothing. bench/run.mjs preloads it with --require for the "no-op hook" runs.
'use strict';
require('node:async_hooks').createHook({ init() {}, before() {}, after() {}, destroy() {} }).enable();
