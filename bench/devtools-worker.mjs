// The heap-snapshot worker of current DevTools (as chrome-devtools-mcp bundles it), started by
// bench/case.mjs's "devtools" case through DevTools' own HeapSnapshotWorkerProxy. DevTools' code uses
// Promise.withResolvers, which Node has from 22 on: on Node 20 it is added here first (the
// standard's definition), in this worker and in the case's main thread.
import './with-resolvers.mjs';

await import('chrome-devtools-mcp/build/src/third_party/devtools-heap-snapshot-worker.js');
