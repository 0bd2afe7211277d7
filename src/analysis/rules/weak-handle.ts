import type { HandleRule } from './rule.js';

/**
 * Weak handles retain nothing: napi_ref at refcount 0, napi_wrap links, and
 * (Node ≤ 24) the resource of a context given a JS resource. Evidence of a
 * live wrapper, never of a leak path.
 */
export const weakHandle: HandleRule = {
  id: 'weak-handle',
  classify({ graph, edge }) {
    return graph.edgeType(edge) === graph.layout.edgeType.weak ? { kind: 'ignore' } : undefined;
  },
};
