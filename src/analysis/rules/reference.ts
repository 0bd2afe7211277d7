import { formatLocation } from '../source-location.js';
import type { HandleRule } from './rule.js';

/**
 * Any other strong handle: a `napi_ref` with refcount > 0 (or another
 * embedder global). Grouped by what it holds: a function by its name and
 * source location, anything else by its class.
 */
export const reference: HandleRule = {
  id: 'reference',
  classify({ graph, target, locations }) {
    const isClosure = graph.nodeType(target) === graph.layout.nodeType.closure;
    if (isClosure) {
      const location = locations.locationOf(target);
      return { kind: 'reference', name: graph.nodeName(target) || '(anonymous function)', location: location && formatLocation(location) };
    }
    const { names, classOf } = graph.classes();
    return { kind: 'reference', name: names[classOf[target]!]!, location: undefined };
  },
};
