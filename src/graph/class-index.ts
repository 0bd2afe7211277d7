import type { HeapGraph } from './heap-graph.js';

export interface ClassIndex {
  /** Class number per node ordinal. */
  classOf: Uint32Array;
  /** Class names, indexed by class number. */
  names: string[];
}

/**
 * Groups nodes into classes the way DevTools' Summary view names them:
 * objects and native objects by constructor name (DOM-like names "<div id=x>"
 * trimmed to "<div>"), closures as "Function", code as "(compiled code)",
 * hidden nodes as "(system)", and every other type as "(type)".
 * `memory`: at least nodeCount words (any content) to hold classOf.
 */
export function computeClassIndex(graph: HeapGraph, memory?: Uint32Array): ClassIndex {
  const { nodeCount, nodes, layout, strings } = graph;
  const { nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift, nodeType, nodeTypeNames } = layout;
  const names: string[] = [];
  const byName = new Map<string, number>();
  const classFor = (name: string): number => {
    let index = byName.get(name);
    if (index === undefined) {
      index = names.length;
      names.push(name);
      byName.set(name, index);
    }
    return index;
  };
  // Per type: a fixed class, or -1 when the class comes from the node's name.
  const typeClass = nodeTypeNames.map((typeName, type) => {
    if (type === nodeType.object || type === nodeType.native) return -1;
    if (type === nodeType.hidden) return classFor('(system)');
    if (type === nodeType.code) return classFor('(compiled code)');
    if (type === nodeType.closure) return classFor('Function');
    if (type === nodeType.regexp) return classFor('RegExp');
    return classFor(`(${typeName})`);
  });
  // Many nodes share a name: cache the class per string index (0 = not yet seen).
  const classByString = new Uint32Array(strings.length);
  const classOf = memory && memory.length >= nodeCount ? memory.subarray(0, nodeCount) : new Uint32Array(nodeCount);
  for (let o = 0, base = 0; o < nodeCount; o++, base += nodeFieldCount) {
    const fixed = typeClass[nodes[base + nodeTypeOffset]! & nodeTypeMask]!;
    if (fixed >= 0) {
      classOf[o] = fixed;
      continue;
    }
    const nameIndex = nodes[base + nodeNameOffset]! >>> nodeNameShift;
    let cls = classByString[nameIndex]!;
    if (cls === 0) {
      cls = classFor(trimTagName(strings.get(nameIndex))) + 1;
      classByString[nameIndex] = cls;
    }
    classOf[o] = cls - 1;
  }
  return { classOf, names };
}

function trimTagName(name: string): string {
  const start = name.startsWith('<') ? 0 : name.startsWith('Detached <') ? 10 : -1;
  if (start < 0) return name;
  const space = name.indexOf(' ', start);
  return space === -1 ? name : `${name.slice(0, space)}>`;
}
