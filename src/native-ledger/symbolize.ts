/**
 * Names the frames of a native ledger after the run: one batched
 * `addr2line -a -f -C -i` per object (function, file:line, inlined callers,
 * demangled C++ and Rust), the object's symbol tables (`nm`) where there is
 * no debug information (symbol+offset), cached on disk per object (path,
 * size, mtime, build-id).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { cacheDir as napiHeapdiffCache } from '../util/cache-dir.js';
import type { LedgerFrame, LedgerSite, NativeLedger } from './read-ledger.js';

export interface SymbolizedFrame extends LedgerFrame {
  /** demangled function name; 'sym+0x12' from the symbol table when there is no debug info; '?' if nothing */
  function: string;
  file?: string;
  line?: number;
  /** callers inlined into this frame, innermost first after `function` (addr2line -i) */
  inlined?: { function: string; file?: string; line?: number }[];
  /** the object on disk changed since the run (build-id differs): names may be wrong */
  stale?: boolean;
}

export interface SymbolizedSite extends Omit<LedgerSite, 'frames'> {
  frames: SymbolizedFrame[];
}

export interface SymbolizedLedger extends Omit<NativeLedger, 'sites'> {
  sites: SymbolizedSite[];
}

export interface SymbolizeOptions {
  /** cache folder; default $XDG_CACHE_HOME/napi-heapdiff/symbols (or ~/.cache/...); false: no cache */
  cacheDir?: string | false;
  addr2line?: string;
  nm?: string;
}

interface SymbolResult {
  function: string;
  file?: string;
  line?: number;
  inlined?: { function: string; file?: string; line?: number }[];
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/** GNU build-id of an ELF file (from its PT_NOTE segments), or undefined. */
export function readBuildId(path: string): string | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return undefined;
  }
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return undefined;
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54), phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > buf.length || buf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    let p = Number(buf.readBigUInt64LE(ph + 8));
    const end = p + Number(buf.readBigUInt64LE(ph + 32));
    while (p + 12 <= end && end <= buf.length) {
      const namesz = buf.readUInt32LE(p), descsz = buf.readUInt32LE(p + 4), type = buf.readUInt32LE(p + 8);
      const name = p + 12, desc = name + ((namesz + 3) & ~3);
      if (type === 3 && namesz === 4 && buf.toString('latin1', name, name + 3) === 'GNU') return buf.toString('hex', desc, desc + descsz);
      p = desc + ((descsz + 3) & ~3);
    }
  }
  return undefined;
}

/** Bumped when the way results are computed changes (part of the cache key). */
const SYMBOLIZER_VERSION = 3;

function defaultCacheDir(): string {
  return join(napiHeapdiffCache(), 'symbols');
}

/** Parses `addr2line -a -f -C -i` output: one group per address. */
export function parseAddr2line(text: string): SymbolResult[] {
  const lines = text.split('\n');
  const groups: { function: string; file?: string; line?: number }[][] = [];
  let cur: { function: string; file?: string; line?: number }[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^0x[0-9a-f]+$/.test(l)) {
      cur = [];
      groups.push(cur);
      continue;
    }
    if (!cur || l === '') continue;
    const loc = lines[i + 1] ?? '??:0';
    i++;
    const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(loc);
    const file = m && m[1] !== '??' ? normalize(m[1]!) : undefined;
    const line = m && m[2] !== '?' && Number(m[2]) > 0 ? Number(m[2]) : undefined;
    cur.push({ function: l, ...(file ? { file } : {}), ...(line ? { line } : {}) });
  }
  return groups.map((g) => {
    const [first, ...rest] = g.length > 0 ? g : [{ function: '??' }];
    return { ...first!, ...(rest.length ? { inlined: rest } : {}) };
  });
}

interface SymbolTable { starts: number[]; sizes: number[]; names: string[] }

/** Function symbols (static table if present, else dynamic) sorted by address. */
async function symbolTable(nm: string, object: string): Promise<SymbolTable> {
  const entries = new Map<number, { size: number; name: string }>();
  for (const args of [['-C', '-S', '--defined-only', object], ['-D', '-C', '-S', '--defined-only', object]]) {
    let out = '';
    try {
      out = await run(nm, args);
    } catch {
      continue;
    }
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f]+)(?: ([0-9a-f]+))? ([tTwWiI]) (.+)$/.exec(line);
      if (!m) continue;
      const start = parseInt(m[1]!, 16);
      const size = m[2] ? parseInt(m[2], 16) : 0;
      const prev = entries.get(start);
      if (!prev || (prev.size === 0 && size > 0)) entries.set(start, { size, name: m[4]! });
    }
  }
  const sorted = [...entries.entries()].sort((a, b) => a[0] - b[0]);
  return { starts: sorted.map((e) => e[0]), sizes: sorted.map((e) => e[1].size), names: sorted.map((e) => e[1].name) };
}

function symbolFor(table: SymbolTable, addr: number): string | undefined {
  let lo = 0, hi = table.starts.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (table.starts[mid]! <= addr) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  const size = table.sizes[best]!;
  const start = table.starts[best]!;
  if (size > 0 && addr >= start + size) return undefined; // between functions: not this symbol
  return `${table.names[best]}+0x${(addr - start).toString(16)}`;
}

async function symbolizeObject(object: string, offsets: number[], opts: Required<Omit<SymbolizeOptions, 'cacheDir'>> & { cacheDir: string | false }, buildId?: string): Promise<{ results: Map<number, SymbolResult>; stale: boolean }> {
  const results = new Map<number, SymbolResult>();
  let st;
  try {
    st = statSync(object);
  } catch {
    for (const o of offsets) results.set(o, { function: '?' });
    return { results, stale: true };
  }
  const fileBuildId = readBuildId(object);
  const stale = buildId !== undefined && fileBuildId !== undefined && fileBuildId !== buildId;
  const cacheKey = createHash('sha256').update(`v${SYMBOLIZER_VERSION}\0${object}\0${st.size}\0${st.mtimeMs}\0${fileBuildId ?? ''}`).digest('hex').slice(0, 32);
  const cachePath = opts.cacheDir ? join(opts.cacheDir, `${basename(object)}-${cacheKey}.json`) : undefined;
  let cached: Record<string, SymbolResult> = {};
  if (cachePath) {
    try {
      cached = JSON.parse(readFileSync(cachePath, 'utf8'));
    } catch {
      cached = {};
    }
  }
  const todo = offsets.filter((o) => !(String(o) in cached));
  if (todo.length > 0) {
    let table: SymbolTable | undefined;
    for (let i = 0; i < todo.length; i += 1000) {
      const batch = todo.slice(i, i + 1000);
      let parsed: SymbolResult[] = [];
      try {
        // offset - 1: the call instruction, not the one after it (the return address)
        const out = await run(opts.addr2line, ['-a', '-f', '-C', '-i', '-e', object, ...batch.map((o) => `0x${Math.max(0, o - 1).toString(16)}`)]);
        parsed = parseAddr2line(out);
      } catch {
        parsed = [];
      }
      for (let k = 0; k < batch.length; k++) {
        let r: SymbolResult = parsed[k] ?? { function: '??' };
        if (r.line === undefined) {
          // No line info: addr2line's name is then just the nearest preceding symbol, even
          // past its end. Use the symbol tables with sizes: "sym+0x12" inside a symbol,
          // "object+0xoff" otherwise.
          table ??= await symbolTable(opts.nm, object);
          const sym = symbolFor(table, Math.max(0, batch[k]! - 1));
          const name = sym ? sym.replace(/\+0x([0-9a-f]+)$/, (_m, h: string) => `+0x${(parseInt(h, 16) + 1).toString(16)}`) : `${basename(object)}+0x${batch[k]!.toString(16)}`;
          r = { function: name, ...(r.file ? { file: r.file } : {}) };
        }
        cached[String(batch[k])] = r;
      }
    }
    if (cachePath) {
      try {
        mkdirSync(dirname(cachePath), { recursive: true });
        const tmp = `${cachePath}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(cached));
        renameSync(tmp, cachePath);
      } catch {
        // a cache we cannot write is only slower
      }
    }
  }
  for (const o of offsets) results.set(o, cached[String(o)] ?? { function: '?' });
  return { results, stale };
}

/** Adds function/file/line to every frame; one addr2line run per object (batched). */
export async function symbolizeNativeLedger(ledger: NativeLedger, options: SymbolizeOptions = {}): Promise<SymbolizedLedger> {
  const opts = {
    addr2line: options.addr2line ?? 'addr2line',
    nm: options.nm ?? 'nm',
    cacheDir: options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir,
  };
  const perObject = new Map<string, { offsets: Set<number>; buildId?: string }>();
  for (const s of ledger.sites) {
    for (const f of s.frames) {
      if (f.objectIndex < 0) continue;
      let e = perObject.get(f.object);
      if (!e) perObject.set(f.object, (e = { offsets: new Set(), buildId: f.buildId }));
      e.offsets.add(f.offset);
    }
  }
  const resolved = new Map<string, { results: Map<number, SymbolResult>; stale: boolean }>();
  await Promise.all([...perObject.entries()].map(async ([object, e]) => {
    resolved.set(object, await symbolizeObject(object, [...e.offsets], opts, e.buildId));
  }));
  return {
    ...ledger,
    sites: ledger.sites.map((s) => ({
      ...s,
      frames: s.frames.map((f): SymbolizedFrame => {
        if (f.objectIndex < 0) return { ...f, function: `0x${f.offset.toString(16)}` };
        const r = resolved.get(f.object);
        const sym = r?.results.get(f.offset) ?? { function: '?' };
        return { ...f, ...sym, ...(r?.stale ? { stale: true } : {}) };
      }),
    })),
  };
}

/** One line per frame: "function (file:line)", "sym+0x12 (object+0xoff)" or "object+0xoff". */
export function formatFrame(f: SymbolizedFrame): string {
  const raw = `${basename(f.object)}+0x${f.offset.toString(16)}`;
  const where = f.file && f.line ? `${basename(f.file)}:${f.line}` : f.file ? `${basename(f.file)}, ${raw}` : raw;
  const inl = f.inlined?.length ? ` [inlined into ${f.inlined.map((i) => i.function).join(' < ')}]` : '';
  return f.function === raw ? `${raw}${inl}` : `${f.function} (${where})${inl}`;
}
