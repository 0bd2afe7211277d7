import type { HandleRule } from './rule.js';

/**
 * Node's own native objects (BaseObject wrappers of libuv handles and
 * requests, modules, ports) are held by strong global handles while active. A
 * Pipe created by the first console.log is Node's, not the addon's: these are
 * baseline and never blamed. Addon references point at JS values (functions,
 * objects) instead.
 */
const NODE_HANDLE_CLASSES = new Set([
  'Pipe', 'TTY', 'TCP', 'UDP', 'Process', 'Signal', 'FSEvent', 'StatWatcher', 'Timer', 'FileHandle',
  'FileHandleCloseReq', 'FSReqCallback', 'FSReqPromise', 'ModuleWrap', 'ContextifyScript', 'MessagePort',
  'MessagePortData', 'Worker', 'HTTPParser', 'JSStream', 'ShutdownWrap', 'WriteWrap', 'TLSWrap', 'Zlib',
  'SecureContext', 'ChannelWrap', 'GetAddrInfoReqWrap', 'GetNameInfoReqWrap', 'QueryReqWrap',
  'TCPConnectWrap', 'PipeConnectWrap', 'SendWrap', 'StreamPipe', 'Blob', 'BlobReader', 'DirHandle',
  'Histogram', 'ELDHistogram', 'CompiledFnEntry', 'BroadcastChannel', 'InspectorSession',
]);

export const nodeHandle: HandleRule = {
  id: 'node-handle',
  classify({ graph, target, locations }) {
    const { classOf, names } = graph.classes();
    if (NODE_HANDLE_CLASSES.has(names[classOf[target]!]!)) return { kind: 'ignore' };
    // Functions of Node's own modules (node:internal/…) held by the runtime,
    // e.g. the perf_hooks observer callback installed lazily.
    if (graph.nodeType(target) === graph.layout.nodeType.closure && locations.locationOf(target)?.script.startsWith('node:')) return { kind: 'ignore' };
    return undefined;
  },
};
