import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Takes a real heap snapshot in a fresh `node` process after running `setup`
 * (JavaScript source) there, and returns the file's path.
 */
export function takeSnapshot(setup: string, name = 'test'): string {
  const dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-test-'));
  const file = join(dir, `${name}.heapsnapshot`);
  const script = `${setup};\nrequire('node:v8').writeHeapSnapshot(${JSON.stringify(file)});`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`snapshot child failed: ${result.stderr}`);
  return file;
}

/** Objects with awkward strings: multi-byte UTF-8, escapes, surrogate pairs, a lone surrogate. */
export const TRICKY_HEAP = `
globalThis.keep = [];
class Item { constructor(i) { this.i = i; this.label = 'item-' + i; this.cb = function itemCallback() { return i; }; } }
for (let i = 0; i < 3000; i++) keep.push(new Item(i));
keep.push({ accents: 'héllo wörld ñ', emoji: 'grin \u{1F600} done', quote: 'say "hi"\\\\ back\\\\slash', ctl: 'tab\\tnew\\nline', lone: 'x\\ud800y', cjk: '漢字かな' });
keep.push(new Map([[1, 'one']]), new WeakMap([[{}, {}]]));
`;
