import type { HandleRule } from './rule.js';

export const CONTEXT_FRAMES = '(unnamed: async context frames, one per open async context or resource, Node 22+)';

/**
 * Since Node 22 every open napi async context, async work and threadsafe
 * function also holds the AsyncLocalStorage frame current when it was made:
 * a strong handle to `undefined` (edge name "undefined_value"), or to an
 * AsyncContextFrame under AsyncLocalStorage. On Node 22/24 this is the only
 * heap trace of a leaked context whose JS resource was collected.
 */
export const contextFrame: HandleRule = {
  id: 'context-frame',
  classify({ graph, edge, target }) {
    const name = graph.nodeName(target);
    if (graph.edgeName(edge) === 'undefined_value' || name === 'AsyncContextFrame') {
      return { kind: 'async-context', name: CONTEXT_FRAMES };
    }
    return undefined;
  },
};
