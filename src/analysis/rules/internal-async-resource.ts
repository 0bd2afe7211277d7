import type { HandleRule } from './rule.js';

/** Name of the group of internal resources when no agent names them. */
export const UNNAMED_ASYNC_RESOURCE = '(unnamed: async context, async work or threadsafe function with a NULL resource)';

/**
 * `napi_async_init`, `napi_create_async_work` and threadsafe functions given a
 * NULL resource make an empty plain Object and hold it through a strong global
 * handle for as long as the context lives. Nothing in the heap names it: the
 * name went to async_hooks only. So: a strong handle to an `Object` whose only
 * edges are its `__proto__` and its map.
 */
export const internalAsyncResource: HandleRule = {
  id: 'internal-async-resource',
  classify({ graph, target }) {
    if (graph.nodeType(target) !== graph.layout.nodeType.object || graph.nodeName(target) !== 'Object') return undefined;
    for (let e = graph.firstEdge[target]!, end = graph.firstEdge[target + 1]!; e < end; e++) {
      const name = graph.edgeName(e);
      if (name !== '__proto__' && name !== 'map') return undefined;
    }
    return { kind: 'async-context', name: UNNAMED_ASYNC_RESOURCE };
  },
};
