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
  classify({ graph, target }) {
    const { classOf, names } = graph.classes();
    return NODE_HANDLE_CLASSES.has(names[classOf[target]!]!) ? { kind: 'ignore' } : undefined;
  },
};
