/**
 * "No node" / "no edge" in every Uint32 ordinal array of the graph (a value
 * no real ordinal reaches). Kept in a module of its own so that the passes
 * import it without importing HeapGraph, which imports them all.
 */
export const NONE = 0xffffffff;
