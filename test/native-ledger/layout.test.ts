import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { LAYOUT } from '../../src/native-ledger/read-ledger.js';

// The reader addresses the audit library's file by constant offsets: this
// compiles the C structs (layout.c includes the library) and compares every
// offset and size the reader uses with what the compiler laid out.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-layout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const STRUCTS: Record<string, keyof typeof LAYOUT> = {
  ledger_header: 'header', site_entry: 'site', obj_entry: 'obj', open_entry: 'open', seg_ctr: 'segCtr', seg_header: 'seg', hs_entry: 'hs', name_entry: 'name',
};
/** C fields the reader knows by another name (a counter block by its first counter, abbreviations). */
const ALIASES: Record<string, string> = {
  'site_entry.acquired': 'site.counters', 'seg_ctr.acquired': 'segCtr.counters', 'ledger_header.no_segment': 'header.noSegment',
  'obj_entry.build_id_len': 'obj.buildIdLen', 'obj_entry.eh_frame_hdr': 'obj.ehFrameHdr',
};
const camel = (s: string) => s.replace(/_([a-z])/g, (_m, x: string) => x.toUpperCase());

it('every offset and struct size read-ledger.ts uses is the C compiler\'s', () => {
  const exe = join(scratch, 'layout');
  const source = fileURLToPath(new URL('../../src/native/napi-ledger-audit.c', import.meta.url));
  execFileSync('cc', ['-O0', '-std=gnu11', '-w', `-DLEDGER_SOURCE="${source}"`, '-o', exe, fileURLToPath(new URL('./layout.c', import.meta.url)), '-ldl']);
  const { sizeof, ...fields } = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, [number, number]> & { sizeof: Record<string, number> };
  const checked: string[] = [];
  const mismatches: string[] = [];
  for (const [key, [offset]] of Object.entries(fields)) {
    const [struct, field] = key.split('.') as [string, string];
    const [group, name] = (ALIASES[key] ?? `${STRUCTS[struct]}.${camel(field)}`).split('.') as [keyof typeof LAYOUT, string];
    const want = (LAYOUT[group] as Record<string, number>)[name];
    if (want === undefined) continue; // a field the reader never reads (the counters after the first, reserved words)
    checked.push(key);
    if (want !== offset) mismatches.push(`${key}: C ${offset}, reader ${want}`);
  }
  for (const [struct, size] of Object.entries(sizeof)) {
    checked.push(`sizeof ${struct}`);
    if (LAYOUT[STRUCTS[struct]!].size !== size) mismatches.push(`sizeof ${struct}: C ${size}, reader ${LAYOUT[STRUCTS[struct]!].size}`);
  }
  expect(mismatches).toEqual([]);
  // Every field the reader names was found in the C structs (none compared against nothing).
  const readerFields = Object.entries(LAYOUT).flatMap(([group, entries]) => Object.keys(entries).map((name) => `${group}.${name}`));
  expect(readerFields.length).toBe(checked.length);
});
