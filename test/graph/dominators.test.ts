import { describe, expect, it } from 'vitest';
import { aggregateByClass } from '../../src/graph/aggregate.js';
import { retainingPath } from '../../src/graph/distances.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { NONE } from '../../src/graph/none.js';
import { NODE_SCRATCH_WORDS } from '../../src/snapshot/heap-snapshot.js';
import { parseSnapshotBytes } from '../../src/snapshot/load.js';
import { SnapshotBuilder } from '../helpers/snapshot-builder.js';

/** `withScratch`: the dominators work in a node scratch, as after a load whose edges were split (zeroed, HeapSnapshot.nodeScratch). */
function graphOf(builder: SnapshotBuilder, withScratch = false): HeapGraph {
  const snapshot = parseSnapshotBytes(Buffer.from(builder.toJSON()), 'built');
  if (withScratch) snapshot.nodeScratch = new Uint32Array(new SharedArrayBuffer((snapshot.nodeCount + 1) * NODE_SCRATCH_WORDS * 4));
  return new HeapGraph(snapshot);
}

/** root -> (GC roots) -> (Global handles) and root -shortcut-> global, the shape of a Node snapshot. */
function nodeShaped(): { b: SnapshotBuilder; gcRoots: number; handles: number; global: number } {
  const b = new SnapshotBuilder();
  const gcRoots = b.node('synthetic', '(GC roots)', 0);
  const handles = b.node('synthetic', '(Global handles)', 0);
  const global = b.node('object', 'global', 100);
  b.edge(b.root, 'element', 1, gcRoots).edge(gcRoots, 'element', 1, handles).edge(b.root, 'shortcut', 'global', global);
  return { b, gcRoots, handles, global };
}

describe('dominators and retained sizes on hand-built graphs', () => {
  it('diamond: the join is dominated by the fork, not by either branch', () => {
    const { b, global } = nodeShaped();
    const fork = b.node('object', 'Fork', 10);
    const left = b.node('object', 'Left', 20);
    const right = b.node('object', 'Right', 30);
    const join = b.node('object', 'Join', 40);
    b.edge(global, 'property', 'fork', fork).edge(fork, 'property', 'l', left).edge(fork, 'property', 'r', right);
    b.edge(left, 'property', 'j', join).edge(right, 'property', 'j', join);
    const g = graphOf(b);
    const { dominator, retainedSize } = g.dominators();
    expect(dominator[join]).toBe(fork);
    expect(dominator[left]).toBe(fork);
    expect(retainedSize[left]).toBe(20);
    expect(retainedSize[right]).toBe(30);
    expect(retainedSize[fork]).toBe(100);
    expect(retainedSize[global]).toBe(200);
  });

  it('cycle: a ring entered at one node is dominated along the ring', () => {
    const { b, global } = nodeShaped();
    const a = b.node('object', 'A', 1);
    const c = b.node('object', 'B', 2);
    const d = b.node('object', 'C', 4);
    b.edge(global, 'property', 'a', a).edge(a, 'property', 'next', c).edge(c, 'property', 'next', d).edge(d, 'property', 'next', a);
    const g = graphOf(b);
    const { dominator, retainedSize } = g.dominators();
    expect([dominator[a], dominator[c], dominator[d]]).toEqual([global, a, c]);
    expect([retainedSize[a], retainedSize[c], retainedSize[d]]).toEqual([7, 6, 4]);
  });

  it('weak edges do not retain: an object held strongly elsewhere is dominated by its strong holder', () => {
    const { b, global } = nodeShaped();
    const holder = b.node('object', 'Holder', 8);
    const cache = b.node('object', 'Cache', 8);
    const value = b.node('object', 'Value', 64);
    b.edge(global, 'property', 'h', holder).edge(global, 'property', 'c', cache);
    b.edge(holder, 'property', 'v', value).edge(cache, 'weak', 'v', value);
    const g = graphOf(b);
    const { dominator, retainedSize } = g.dominators();
    expect(dominator[value]).toBe(holder);
    expect(retainedSize[holder]).toBe(72);
    expect(retainedSize[cache]).toBe(8);
  });

  it('a WeakMap table edge does not retain the value; the key edge does', () => {
    const { b, global } = nodeShaped();
    const table = b.node('array', 'system / EphemeronHashTable', 16, 1001);
    const key = b.node('object', 'Key', 8);
    const value = b.node('object', 'Value', 32);
    const name = `1 / part of key (Key @${5}) -> value (Value @${7}) pair in WeakMap (table @1001)`;
    b.edge(global, 'property', 'table', table).edge(global, 'property', 'key', key);
    b.edge(table, 'internal', name, value).edge(key, 'internal', name, value);
    const g = graphOf(b);
    expect(g.dominators().dominator[value]).toBe(key);
    expect(g.dominators().retainedSize[key]).toBe(40);
  });

  it('unreachable nodes hang off the root and are reported', () => {
    const { b, global } = nodeShaped();
    const weaklyHeld = b.node('object', 'WeakOnly', 5);
    const islandA = b.node('object', 'IslandA', 3);
    const islandB = b.node('object', 'IslandB', 4);
    b.edge(global, 'weak', 'w', weaklyHeld);
    b.edge(islandA, 'property', 'b', islandB).edge(islandB, 'property', 'a', islandA);
    const g = graphOf(b);
    const { dominator, retainedSize, unreachable } = g.dominators();
    expect(unreachable.count).toBe(3);
    expect(dominator[weaklyHeld]).toBe(g.rootOrdinal);
    expect(dominator[islandA]).toBe(g.rootOrdinal);
    expect(retainedSize[weaklyHeld]).toBe(5);
    expect(g.distances().distance[islandA]).toBe(NONE);
    expect(retainingPath(g, islandA)).toEqual([]);
  });

  it('retained sizes above 2^32 are summed exactly', () => {
    const { b, global } = nodeShaped();
    const owner = b.node('object', 'BigOwner', 16);
    const first = b.node('native', 'system / JSArrayBufferData', 4_000_000_000);
    const second = b.node('native', 'system / JSArrayBufferData', 4_000_000_000);
    b.edge(global, 'property', 'o', owner).edge(owner, 'internal', 'a', first).edge(owner, 'internal', 'b', second);
    const g = graphOf(b);
    expect(g.dominators().retainedSize[owner]).toBe(8_000_000_016);
    const rows = aggregateByClass(g);
    expect(rows.find((r) => r.className === 'system / JSArrayBufferData')).toEqual({
      className: 'system / JSArrayBufferData', count: 2, selfSize: 8_000_000_000, retainedSize: 8_000_000_000,
    });
  });

  it.each([false, true])('retained sizes take a word a node while the whole heap fits 32 bits, and Float64 from one byte more (node scratch: %s)', (withScratch) => {
    const build = (extra: number) => {
      const { b, global } = nodeShaped();
      const base = graphOf(nodeShaped().b);
      let total = 0;
      for (let o = 0; o < base.nodeCount; o++) total += base.selfSize(o);
      const holder = b.node('object', 'Holder', 16);
      const big = b.node('native', 'system / JSArrayBufferData', 0xffffffff - total - 16 + extra);
      b.edge(global, 'property', 'h', holder).edge(holder, 'internal', 'data', big);
      return { g: graphOf(b, withScratch), holder };
    };
    const fits = build(0);
    expect(fits.g.dominators().retainedSize).toBeInstanceOf(Uint32Array);
    expect(fits.g.dominators().retainedSize[fits.g.rootOrdinal]).toBe(0xffffffff);
    const wide = build(1);
    expect(wide.g.dominators().retainedSize).toBeInstanceOf(Float64Array);
    expect(wide.g.dominators().retainedSize[wide.g.rootOrdinal]).toBe(0x100000000);
    expect(wide.g.dominators().retainedSize[wide.holder]).toBe(fits.g.dominators().retainedSize[fits.holder]! + 1);
  });

  it('a shallow size above 2^32 (an owner of two 3 GB internal arrays) is summed exactly', () => {
    const { b, global } = nodeShaped();
    const owner = b.node('object', 'Owner', 16);
    const first = b.node('array', '(object elements)', 3_000_000_000);
    const second = b.node('array', '(object elements)', 3_000_000_000);
    b.edge(global, 'property', 'o', owner).edge(owner, 'internal', 'elements', first).edge(owner, 'internal', 'more', second);
    const g = graphOf(b);
    const shallow = g.shallowSizes();
    expect(shallow).toBeInstanceOf(Float64Array);
    expect([shallow[owner], shallow[first], shallow[second]]).toEqual([6_000_000_016, 0, 0]);
    expect(g.dominators().retainedSize[owner]).toBe(6_000_000_016);
    expect(graphOf(nodeShaped().b).shallowSizes()).toBeInstanceOf(Uint32Array);
  });

  it('a deep chain (200k nodes) needs no recursion', () => {
    const { b, global } = nodeShaped();
    let previous = global;
    const chain: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const next = b.node('object', 'Link', 1);
      b.edge(previous, 'property', 'next', next);
      chain.push(next);
      previous = next;
    }
    const g = graphOf(b);
    expect(g.dominators().retainedSize[chain[0]!]).toBe(200_000);
    expect(g.distances().distance[chain.at(-1)!]).toBe(200_001);
    expect(retainingPath(g, chain[2]!).map((s) => (s.edge === undefined ? '' : g.edgeName(s.edge)))).toEqual(['', 'global', 'next', 'next', 'next']);
  });

  it('shortest retaining path through global handles names each edge', () => {
    const { b, handles } = nodeShaped();
    const target = b.node('closure', 'leakedCallback', 32);
    b.edge(handles, 'internal', '42', target);
    const g = graphOf(b);
    const path = retainingPath(g, target);
    expect(path.map((s) => g.nodeName(s.node))).toEqual(['', '(GC roots)', '(Global handles)', 'leakedCallback']);
    expect(path.slice(1).map((s) => `${g.edgeTypeName(s.edge!)}:${g.edgeName(s.edge!)}`)).toEqual(['element:1', 'element:1', 'internal:42']);
  });

  it('an object the program reaches from its globals is retained through them, not through a handle (as in DevTools)', () => {
    const { b, global, handles } = nodeShaped();
    const far = b.node('object', 'Far', 1);
    const mid = b.node('object', 'Mid', 1);
    const target = b.node('object', 'Target', 1);
    b.edge(global, 'property', 'far', far).edge(far, 'property', 'mid', mid).edge(mid, 'property', 'inner', target);
    b.edge(handles, 'internal', '42', target);
    const g = graphOf(b);
    expect(retainingPath(g, target).map((s) => g.nodeName(s.node))).toEqual(['', 'global', 'Far', 'Mid', 'Target']);
    expect(g.dominators().dominator[target]).toBe(mid);
  });

  it('looks nodes up by V8 object id', () => {
    const { b } = nodeShaped();
    const x = b.node('object', 'X', 1, 987654);
    const g = graphOf(b);
    expect(g.ordinalOfId(987654)).toBe(x);
    expect(g.ordinalOfId(3)).toBe(1);
    expect(g.ordinalOfId(4)).toBe(NONE);
  });

  it('random graphs: every immediate dominator and retained size equals the definition\'s, in their own memory or a node scratch', () => {
    // Dominance by its definition (iterated dominator sets) on the graph the
    // algorithm is meant to see: strong edges, the root -> each node reached by
    // weak edges only, and the root -> each node left over (whose own edges
    // then count for nothing: DevTools attaches them one by one).
    let seed = 20261125;
    const random = (below: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % below;
    };
    for (let round = 0; round < 300; round++) {
      const b = new SnapshotBuilder();
      const count = 2 + random(24);
      for (let i = 1; i < count; i++) b.node('object', `N${i}`, 1 + random(100));
      const strong: Array<[number, number]> = [];
      const edgeTotal = random(count * 3);
      for (let k = 0; k < edgeTotal; k++) {
        const from = random(count);
        const to = 1 + random(count - 1);
        const weak = random(5) === 0;
        b.edge(from, weak ? 'weak' : 'property', `e${k}`, to);
        if (!weak && from !== to) strong.push([from, to]);
      }
      // Odd rounds in a node scratch, as a split load leaves it.
      const g = graphOf(b, round % 2 === 1);
      const scratch = g.snapshot.nodeScratch;
      const { dominator, retainedSize } = g.dominators();
      if (scratch) {
        expect(g.snapshot.nodeScratch).toBeUndefined();
        expect(dominator.buffer).toBe(scratch.buffer);
      }

      const reach = (starts: number[], seen: Set<number>): void => {
        const stack = [...starts];
        for (const s of starts) seen.add(s);
        while (stack.length > 0) {
          const v = stack.pop()!;
          for (const [from, to] of strong) if (from === v && !seen.has(to)) (seen.add(to), stack.push(to));
        }
      };
      const reached = new Set<number>();
      reach([0], reached);
      const weakOnly = [...Array(count).keys()].filter((v) => !reached.has(v) && !strong.some(([, to]) => to === v));
      reach(weakOnly, reached);
      const leftOver = [...Array(count).keys()].filter((v) => !reached.has(v));
      const preds = (v: number): number[] => [
        ...strong.filter(([from, to]) => to === v && !leftOver.includes(from)).map(([from]) => from),
        ...(weakOnly.includes(v) || leftOver.includes(v) ? [0] : []),
      ];
      const all = new Set([...Array(count).keys()]);
      const dom: Array<Set<number>> = [...Array(count).keys()].map((v) => (v === 0 ? new Set([0]) : new Set(all)));
      for (let changed = true; changed; ) {
        changed = false;
        for (let v = 1; v < count; v++) {
          const next = new Set(all);
          for (const p of preds(v)) for (const d of [...next]) if (!dom[p]!.has(d)) next.delete(d);
          next.add(v);
          if (next.size !== dom[v]!.size) (dom[v] = next, changed = true);
        }
      }
      const expectedDominator = dom.map((ds, v) => (v === 0 ? 0 : [...ds].filter((d) => d !== v).sort((x, y) => dom[y]!.size - dom[x]!.size)[0]!));
      expect([...dominator], `round ${round}`).toEqual(expectedDominator);
      const expectedRetained = [...Array(count).keys()].map((v) => [...Array(count).keys()].filter((w) => dom[w]!.has(v)).reduce((sum, w) => sum + g.selfSize(w), 0));
      expect([...retainedSize], `round ${round}`).toEqual(expectedRetained);
    }
  });
});
