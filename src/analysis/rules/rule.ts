import type { HeapGraph } from '../../graph/heap-graph.js';
import type { LocationIndex } from '../source-location.js';

/** What one global-handle edge is evidence of. */
export type HandleClassification =
  | { kind: 'async-context'; name: string }
  | { kind: 'reference'; name: string; location: string | undefined }
  | { kind: 'ignore' };

export interface HandleContext {
  graph: HeapGraph;
  locations: LocationIndex;
  /** The `(Global handles)` edge. */
  edge: number;
  /** Its target node. */
  target: number;
}

/**
 * One kind of thing a `(Global handles)` edge can be. Rules are tried in the
 * order of rules/index.ts; the first that answers decides (undefined = "not
 * mine, ask the next").
 */
export interface HandleRule {
  readonly id: string;
  classify(context: HandleContext): HandleClassification | undefined;
}
