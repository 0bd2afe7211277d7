import { aggregateByClass, type ClassAggregate } from '../graph/aggregate.js';
import { globalHandleGroups, type GlobalHandleGroup } from '../graph/global-handles.js';
import type { HeapGraph } from '../graph/heap-graph.js';
import type { SnapshotAnomaly } from '../snapshot/errors.js';
import { compareCodeUnits } from '../util/sorted.js';

export interface InspectResult {
  file: string;
  nodeCount: number;
  edgeCount: number;
  stringCount: number;
  /** Sum of all self sizes, bytes. */
  totalSize: number;
  extraNativeBytes: number | undefined;
  nodeFields: string[];
  topByCount: ClassAggregate[];
  topByRetainedSize: ClassAggregate[];
  globalHandles: { strong: number; weak: number; byClass: GlobalHandleGroup[] };
  anomalies: SnapshotAnomaly[];
}

/** The numbers `inspect` shows: sizes, top classes, what global handles hold. */
export function inspectSnapshot(graph: HeapGraph, top = 15): InspectResult {
  let totalSize = 0;
  for (let o = 0; o < graph.nodeCount; o++) totalSize += graph.selfSize(o);
  const classes = aggregateByClass(graph);
  const byClass = globalHandleGroups(graph);
  const { unreachable } = graph.dominators();
  const anomalies = [...graph.snapshot.anomalies];
  if (unreachable.count > 0) {
    anomalies.push({
      kind: 'unreachable-nodes',
      message: `${unreachable.count} nodes are not reachable from the root over retaining edges`,
      count: unreachable.count,
      examples: unreachable.examples.map((o) => graph.nodeId(o)),
    });
  }
  return {
    file: graph.snapshot.file,
    nodeCount: graph.nodeCount,
    edgeCount: graph.edgeCount,
    stringCount: graph.strings.length,
    totalSize,
    extraNativeBytes: graph.snapshot.extraNativeBytes,
    nodeFields: (graph.snapshot.meta.node_fields as string[]) ?? [],
    topByCount: [...classes].sort((a, b) => b.count - a.count || compareCodeUnits(a.className, b.className)).slice(0, top),
    topByRetainedSize: [...classes].sort((a, b) => b.retainedSize - a.retainedSize || compareCodeUnits(a.className, b.className)).slice(0, top),
    globalHandles: {
      strong: byClass.reduce((sum, g) => sum + g.strong, 0),
      weak: byClass.reduce((sum, g) => sum + g.weak, 0),
      byClass,
    },
    anomalies,
  };
}
