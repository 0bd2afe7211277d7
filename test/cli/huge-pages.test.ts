import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HUGE_PAGES_MIN_BYTES, wantsHugePages } from '../../src/cli/huge-pages.js';
import { repoRoot, runCli } from '../helpers/run-cli.js';

/** What this machine offers: huge pages on request (THP "madvise") and glibc. */
function machineOffersHugePages(): boolean {
  if (process.platform !== 'linux') return false;
  const thp = '/sys/kernel/mm/transparent_hugepage/enabled';
  if (!existsSync(thp) || !readFileSync(thp, 'utf8').includes('[madvise]')) return false;
  return (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
}

/** A file of `bytes` that takes no disk (sparse). */
function sparseFile(path: string, bytes: number): string {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return path;
}

describe('the CLI runs big analyses with transparent huge pages', () => {
  let dir: string;
  let big: string;
  let small: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-huge-'));
    big = sparseFile(join(dir, 'big.heapsnapshot'), HUGE_PAGES_MIN_BYTES);
    small = sparseFile(join(dir, 'small.heapsnapshot'), HUGE_PAGES_MIN_BYTES - 1);
  });

  it('asks for them for inspect and diff of a snapshot from HUGE_PAGES_MIN_BYTES on, where the machine offers them', () => {
    const env = {};
    const offered = machineOffersHugePages();
    expect(wantsHugePages(['node', 'main.js', 'inspect', big, '--json', join(dir, 'out.json')], env)).toBe(offered);
    expect(wantsHugePages(['node', 'main.js', 'diff', small, big], env)).toBe(offered);
    // A folder stands for its snapshots.
    expect(wantsHugePages(['node', 'main.js', 'diff', dir], env)).toBe(offered);
    expect(wantsHugePages(['node', 'main.js', 'inspect', small], env)).toBe(false);
    expect(wantsHugePages(['node', 'main.js', 'report', big], env)).toBe(false);
    expect(wantsHugePages(['node', 'main.js', 'inspect', '-'], env)).toBe(false);
    // Turned off, already set (by the user, or by the CLI for its own second process).
    expect(wantsHugePages(['node', 'main.js', 'inspect', big], { NAPI_HEAPDIFF_HUGE_PAGES: '0' })).toBe(false);
    expect(wantsHugePages(['node', 'main.js', 'inspect', big], { NAPI_HEAPDIFF_HUGE_PAGES: 'relaunched' })).toBe(false);
    expect(wantsHugePages(['node', 'main.js', 'inspect', big], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' })).toBe(false);
    // Asked for whatever the size.
    expect(wantsHugePages(['node', 'main.js', 'inspect', small], { NAPI_HEAPDIFF_HUGE_PAGES: '1' })).toBe(offered);
  });

  it('gives the same output and exit code through the second process, and reports a bad input the same way', () => {
    const golden = join(repoRoot, 'snapshots', 'node20-fixtures.heapsnapshot.gz');
    const direct = runCli(['inspect', golden], { env: { NAPI_HEAPDIFF_HUGE_PAGES: '0' } });
    const relaunched = runCli(['inspect', golden], { env: { NAPI_HEAPDIFF_HUGE_PAGES: '1' } });
    expect(direct.code).toBe(0);
    expect(relaunched).toEqual(direct);
    const broken = join(dir, 'broken.heapsnapshot');
    writeFileSync(broken, '{"snapshot":');
    const bad = runCli(['inspect', broken], { env: { NAPI_HEAPDIFF_HUGE_PAGES: '1' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`napi-heapdiff: ${broken}: truncated: the file ended inside the top-level object at byte 12\n`);
    expect(bad).toEqual(runCli(['inspect', broken], { env: { NAPI_HEAPDIFF_HUGE_PAGES: '0' } }));
  });
});
