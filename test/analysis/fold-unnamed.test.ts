import { describe, expect, it } from 'vitest';
import { foldUnnamedGroups } from '../../src/analysis/fold-unnamed.js';
import type { AsyncContextRow } from '../../src/analysis/result.js';
import { CONTEXT_FRAMES, UNNAMED_ASYNC_RESOURCE } from '../../src/analysis/rules/index.js';

// The accounting that makes one bug one row: context frames and NULL
// resources handed to the named rows whose open contexts hold them, by count.

function row(name: string, live: number[], named = true, retainedSize = 0): AsyncContextRow {
  return {
    name, live, growth: 0, perIteration: null, retainedSize, verdict: 'stable', identity: null, retainingPath: null, leakKind: null,
    named, creationSites: [], counters: null, unclosedCallbackScopes: named ? 0 : null, openAtWorkerTeardown: live.map(() => 0),
    resourcesCollected: 0, ledger: null, basis: 'heap', contextFrames: null, unnamedResources: null, explanation: null,
  };
}

describe('folding unnamed groups into the named rows that account for them', () => {
  it('frames: each named row takes one per open context and per open callback scope; Node\'s own frame stays, unlisted when it never changes', () => {
    const a = row('a', [2, 22]);
    const b = row('b', [0, 5]);
    const frames = row(CONTEXT_FRAMES, [1 + 2 + 2, 1 + 22 + 20 + 5], false, 4000);
    const { rows, folded } = foldUnnamedGroups({
      rows: [a, b, frames],
      openInHeap: new Map([[a, [2, 22]], [b, [0, 5]]]),
      // a left a callback scope open per context: a second frame each.
      openScopes: new Map([[a, [2, 20]], [b, [0, 0]]]),
      retainedOf: () => 4000,
    });
    expect(rows).toEqual([a, b]);
    expect(folded.get(a)).toEqual({ contextFrames: [4, 42], unnamedResources: null });
    expect(folded.get(b)).toEqual({ contextFrames: [0, 5], unnamedResources: null });
    expect(frames.live).toEqual([1, 1]);
    // The frames' bytes go pro rata to who took them (48 frames in the last snapshot).
    expect(a.retainedSize).toBe(Math.round((4000 * 42) / 48));
    expect(b.retainedSize).toBe(Math.round((4000 * 5) / 48));
  });

  it('frames no row accounts for stay as the unnamed row, with what is left, when that changes', () => {
    const a = row('a', [2, 4]);
    const frames = row(CONTEXT_FRAMES, [3, 23], false);
    const { rows } = foldUnnamedGroups({ rows: [a, frames], openInHeap: new Map([[a, [2, 4]]]), openScopes: new Map(), retainedOf: () => 0 });
    expect(rows).toEqual([a, frames]);
    expect(frames.live).toEqual([1, 19]);
  });

  it('no agent: a row the ledger names takes the NULL resources first (as many as it has open), then the frames', () => {
    const named = row('ledger_named', [0, 0, 0]);
    const resources = row(UNNAMED_ASYNC_RESOURCE, [262, 300, 362], false, 1000);
    const frames = row(CONTEXT_FRAMES, [263, 301, 363], false);
    const { rows, folded } = foldUnnamedGroups({ rows: [named, resources, frames], openInHeap: new Map([[named, [0, 38, 100]]]), openScopes: new Map(), retainedOf: (r) => (r === resources ? 1000 : 0) });
    // What predates the ledger stays unnamed and flat; Node's own frame is not listed.
    expect(rows).toEqual([named, resources]);
    expect(resources.live).toEqual([262, 262, 262]);
    expect(folded.get(named)).toEqual({ unnamedResources: [0, 38, 100], contextFrames: [0, 38, 100] });
    expect(frames.live).toEqual([1, 1, 1]);
  });

  it('Node 20 has no frames: nothing to fold, nothing taken', () => {
    const a = row('a', [2, 22]);
    const { rows, folded } = foldUnnamedGroups({ rows: [a], openInHeap: new Map([[a, [2, 22]]]), openScopes: new Map(), retainedOf: () => 0 });
    expect(rows).toEqual([a]);
    expect(folded.size).toBe(0);
  });
});
