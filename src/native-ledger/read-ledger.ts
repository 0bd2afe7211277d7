/**
 * Reader and symbolizer for the native call-site ledger written by
 * napi_ledger_audit.c (LD_AUDIT library). Node 20+, `node:` modules only.
 *
 * - parseNativeLedger(bytes): pure; the file (or a copy cut at a heap snapshot)
 *   -> sites with per-site acquired/released/open counts and open handles.
 * - diffNativeLedgers(before, after): per-site deltas between two cuts.
 * - symbolizeNativeLedger(ledger): adds {function, file, line, inlined} to every
 *   frame, with one batched `addr2line -f -C -i` per object, falling back to the
 *   object's symbol tables (`nm -C -S`, static then dynamic); cached on disk per
 *   (path, size, mtime, build-id).
 * - cutNativeLedger(dir, label): copies native-<pid>.bin for the running
 *   process (what a preload agent does at a heap snapshot).
 *
 * The binary layout is documented in README.md ("File format"); the offsets
 * below are checked against the C structs by test/check-layout.mjs.
 */
import { readFileSync } from 'node:fs';

export const LEDGER_MAGIC = 'NAPILDGR';
/** The version this reader writes about; it also reads version 1 files (no async names). */
export const LEDGER_VERSION = 2;
const READABLE_VERSIONS = new Set([1, 2]);

/** Acquire/release pairs, indexed by the pair code stored in the file. */
export const NATIVE_PAIRS = [
  '(none)',
  'async_init/async_destroy',
  'open_callback_scope/close_callback_scope',
  'create_reference/delete_reference',
  'wrap/delete_reference',
  'add_finalizer/delete_reference',
  'create_async_work/delete_async_work',
  'create_threadsafe_function/release_threadsafe_function',
  'add_env_cleanup_hook/remove_env_cleanup_hook',
  'add_async_cleanup_hook/remove_async_cleanup_hook',
  'open_handle_scope/close_handle_scope',
  'open_escapable_handle_scope/close_escapable_handle_scope',
] as const;
export type NativePair = Exclude<(typeof NATIVE_PAIRS)[number], '(none)'>;

/** Pairs whose open-handle `count` is meaningful (reference refcount, TSFN thread count). */
const COUNTED_PAIRS = new Set<number>([3, 4, 5, 7]);

export interface LedgerObject {
  index: number;
  path: string;
  /** load bias at run time (l_addr) */
  base: bigint;
  buildId?: string;
  addon: boolean;
  mainProgram: boolean;
  /** unloaded (dlclose) before the cut */
  closed: boolean;
}

export interface LedgerFrame {
  /** object path, or '?' for code in no known object (then offset is the absolute address) */
  object: string;
  objectIndex: number;
  /** return address minus the object's load bias (an ELF virtual address for addr2line) */
  offset: number;
  buildId?: string;
}

export interface LedgerSite {
  /** index in the file's site table (stable for one process) */
  index: number;
  pair: NativePair;
  /** 'acquire': where handles are created; 'release': where releases are made */
  role: 'acquire' | 'release';
  /** innermost first: frames[0] is the instruction after the call to napi_* */
  frames: LedgerFrame[];
  /**
   * async_init / create_async_work / create_threadsafe_function acquire sites: the
   * async_resource_name (UTF-8, at most 95 bytes), part of the site key: the same chain with
   * another name is another site. Absent when the name was not a string, or names were off.
   */
  asyncName?: string;
  /** asyncName filled the 95-byte read buffer: the real name may be longer */
  asyncNameCut?: boolean;
  acquired: number;
  /** releases of handles acquired at this site (made anywhere) */
  released: number;
  /** releases made at this site (role 'release') */
  releasedHere: number;
  /** handles acquired here whose value was handed out again while still open (a release the ledger did not see) */
  lost: number;
  /** acquisitions not stored in an open-handle table (tables full) */
  untracked: number;
  /** ended by Node at env teardown (env cleanup hooks Node ran) */
  teardown: number;
  /** acquired - released - lost - teardown (untracked handles count as open: see untracked) */
  open: number;
  /** handle values still open (hex), from the open-handle tables */
  openHandles?: string[];
  /** per open handle: reference refcount (0 = weak) or TSFN thread count; same order as openHandles */
  refcounts?: number[];
  /** kernel thread ids that hold the open handles (same order) */
  openThreads?: number[];
  /** unwinding stopped at a frame whose caller could not be computed */
  truncated: boolean;
  /** frame 0 is not addon code: the addon tail-called napi_* (its caller is shown instead) */
  tailCall: boolean;
  /** NAPI_HEAPDIFF_NATIVE_DEPTH reached while still inside addon code */
  depthLimit: boolean;
}

export interface LedgerThread {
  index: number;
  tid: number;
  createdUnixMs: number;
  /** acquisitions that did not fit in this thread's tables and went to the global table */
  overflow: number;
  openHandleScopes: number;
}

export interface NativeLedger {
  version: number;
  pid: number;
  maxDepth: number;
  startUnixMs: number;
  /** release call sites were recorded (for the default set of pairs, or all: NAPI_HEAPDIFF_NATIVE_RELEASE_SITES) */
  releaseSites: boolean;
  /** release sites for every pair (NAPI_HEAPDIFF_NATIVE_RELEASE_SITES=all) */
  releaseSitesAll: boolean;
  /** handle and escapable scopes were tracked (NAPI_HEAPDIFF_NATIVE_SCOPES, default on) */
  handleScopes: boolean;
  /** async resource names were read into the site keys (NAPI_HEAPDIFF_NATIVE_ASYNC_NAMES, default on; always false for version 1) */
  asyncNames: boolean;
  verifyMode: boolean;
  objects: LedgerObject[];
  sites: LedgerSite[];
  threads: LedgerThread[];
  totals: {
    /** per pair: releases of handles found in no table (acquired before the ledger, by code it does not see, or after an abort) */
    unmatchedReleases: Partial<Record<NativePair, number>>;
    /** per pair: acquisitions lost because the site table was full */
    noSite: Partial<Record<NativePair, number>>;
    untracked: Partial<Record<NativePair, number>>;
    /** per pair: acquire/release calls that returned an error status (not booked) */
    failedCalls: Partial<Record<NativePair, number>>;
  };
  stats: {
    memoMisses: number;
    framesComputed: number;
    chainsTruncated: number;
    chainsTail: number;
    verifyChecked: number;
    verifyMismatch: number;
    pcCacheFull: number;
    wrappedBindings: number;
    foreignBindings: number;
    refcountUnknown: number;
    objectsClosed: number;
    threadsWithoutSegment: number;
    sitesUsed: number;
    siteCapacity: number;
    /** distinct async resource names interned */
    namesUsed: number;
    /** named acquisitions whose resource name was not a string (their site has no asyncName) */
    namesUnreadable: number;
    /** names that found no room in the name or string table (their site has no asyncName) */
    namesDropped: number;
  };
}

export class LedgerFormatError extends Error {
  override name = 'LedgerFormatError';
}

// ---- layout (checked against the C structs by test/check-layout.mjs) ----
export const LAYOUT = {
  header: {
    size: 1024, magic: 0, version: 8, headerSize: 12, pid: 16, maxDepth: 20, startUnixNs: 24, fileSize: 32,
    siteOff: 40, siteCap: 44, siteEntrySize: 48, siteUsed: 52,
    objOff: 56, objCap: 60, objEntrySize: 64, objUsed: 68,
    strOff: 72, strCap: 76, strUsed: 80, flags: 84,
    openTagsOff: 88, openOff: 92, openCap: 96, openEntrySize: 100, openGroup: 104, openWindow: 108,
    segDirOff: 112, segCap: 116, segUsed: 120, segSize: 124,
    segCtrCap: 128, segOpenCap: 132, segCtrEntrySize: 136, segOpenGroup: 140,
    unmatchedRelease: 144, noSite: 272, untracked: 400, failedCalls: 528,
    memoMisses: 656, framesComputed: 664, chainsTruncated: 672, chainsTail: 680, verifyChecked: 688,
    verifyMismatch: 696, pcCacheFull: 704, wrappedBindings: 712, foreignBindings: 720, refcountUnknown: 728,
    objectsClosed: 736, noSegment: 744, globalLive: 752,
    // version 2
    nameOff: 880, nameCap: 884, nameEntrySize: 888, nameUsed: 892, nameBuf: 896, namesUnreadable: 904, namesDropped: 912,
  },
  site: { size: 160, stateHash: 0, pair: 4, depth: 6, flags: 7, obj: 8, off: 40, counters: 104, nameOff: 152, nameLen: 156 },
  name: { size: 16, stateHash: 0, strOff: 4, len: 8 },
  obj: { size: 96, state: 0, flags: 4, pathOff: 8, pathLen: 12, base: 16, lo: 24, hi: 32, buildIdLen: 40, buildId: 41, ehFrameHdr: 64 },
  open: { size: 40, h1: 0, h2: 8, site: 16, pair: 20, flags: 22, count: 24, slot: 32, tid: 36 },
  segCtr: { size: 64, site1: 0, counters: 8 },
  seg: { size: 128, magic: 0, tid: 4, ctrCap: 8, openCap: 12, ctrOff: 16, tagsOff: 20, openOff: 24, index: 28, createdUnixNs: 32, overflow: 40, hsOff: 48, hsCap: 52, hsTop: 56, recentOff: 60, recentCap: 64 },
  hs: { size: 24, h: 0, site: 8, pair: 12, flags: 14, slot: 16 },
} as const;

const SEG_MAGIC = 0x31474553;
const SF_RELEASE = 1, SF_TRUNCATED = 2, SF_TAIL = 4, SF_DEPTH_LIMIT = 8, SF_NAMED = 16, SF_NAME_CUT = 32;
const OF_ADDON = 1, OF_CLOSED = 2, OF_MAIN = 4;
const OT_LIVE = 2;
const NO_OBJ = 0xfff;
const NO_SITE = 0xffffffff;
/** counters in site entries and segment slots, in file order */
const COUNTERS = ['acquired', 'released', 'releasedHere', 'lost', 'untracked', 'teardown'] as const;

function num(v: bigint): number {
  return Number(v);
}

function pairName(code: number): NativePair | undefined {
  return code >= 1 && code < NATIVE_PAIRS.length ? (NATIVE_PAIRS[code] as NativePair) : undefined;
}

function perPair(view: DataView, at: number): Partial<Record<NativePair, number>> {
  const out: Partial<Record<NativePair, number>> = {};
  for (let p = 1; p < NATIVE_PAIRS.length; p++) {
    const v = num(view.getBigUint64(at + 8 * p, true));
    if (v !== 0) out[NATIVE_PAIRS[p] as NativePair] = v;
  }
  return out;
}

export interface ParseOptions {
  /** include openHandles/refcounts/openThreads lists (default true) */
  handles?: boolean;
  /** include sites with role 'release' (default true) */
  releaseSites?: boolean;
}

/**
 * Parses a ledger file (or a copy of one). Pure: no I/O.
 * Throws LedgerFormatError for a file that is not a ledger or has another version.
 */
export function parseNativeLedger(bytes: Uint8Array, options: ParseOptions = {}): NativeLedger {
  const withHandles = options.handles ?? true;
  const H = LAYOUT.header;
  if (bytes.length < H.size) throw new LedgerFormatError(`ledger too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== LEDGER_MAGIC) throw new LedgerFormatError(`not a napi-heapdiff native ledger (magic ${JSON.stringify(magic)})`);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => view.getBigUint64(at, true);
  const version = u32(H.version);
  if (!READABLE_VERSIONS.has(version)) throw new LedgerFormatError(`ledger format version ${version}, this reader reads ${[...READABLE_VERSIONS].join(' and ')}`);
  if (u32(H.headerSize) !== H.size) throw new LedgerFormatError(`unexpected header size ${u32(H.headerSize)}`);
  const need = (off: number, len: number, what: string) => {
    if (off + len > bytes.length) throw new LedgerFormatError(`${what} runs past the end of the file (${off + len} > ${bytes.length})`);
  };

  // strings + objects
  const strOff = u32(H.strOff), strCap = u32(H.strCap);
  need(strOff, strCap, 'string table');
  const decoder = new TextDecoder();
  const objOff = u32(H.objOff), objCap = u32(H.objCap), objUsed = Math.min(u32(H.objUsed), objCap);
  need(objOff, objCap * LAYOUT.obj.size, 'object table');
  const objects: LedgerObject[] = [];
  for (let i = 0; i < objUsed; i++) {
    const at = objOff + i * LAYOUT.obj.size;
    if (u32(at + LAYOUT.obj.state) !== 2) continue;
    const flags = u32(at + LAYOUT.obj.flags);
    const pathOff = u32(at + LAYOUT.obj.pathOff), pathLen = u32(at + LAYOUT.obj.pathLen);
    const bidLen = view.getUint8(at + LAYOUT.obj.buildIdLen);
    objects[i] = {
      index: i,
      path: pathLen > 0 && pathOff + pathLen <= strCap ? decoder.decode(bytes.subarray(strOff + pathOff, strOff + pathOff + pathLen)) : '?',
      base: u64(at + LAYOUT.obj.base),
      buildId: bidLen > 0 ? Buffer.from(bytes.subarray(at + LAYOUT.obj.buildId, at + LAYOUT.obj.buildId + bidLen)).toString('hex') : undefined,
      addon: (flags & OF_ADDON) !== 0,
      mainProgram: (flags & OF_MAIN) !== 0,
      closed: (flags & OF_CLOSED) !== 0,
    };
  }

  // sites (global part of the counters)
  const siteOff = u32(H.siteOff), siteCap = u32(H.siteCap);
  need(siteOff, siteCap * LAYOUT.site.size, 'site table');
  const byIndex = new Map<number, LedgerSite>();
  for (let i = 0; i < siteCap; i++) {
    const at = siteOff + i * LAYOUT.site.size;
    if ((u32(at + LAYOUT.site.stateHash) & 3) !== 2) continue;
    const pair = pairName(view.getUint16(at + LAYOUT.site.pair, true));
    if (!pair) continue;
    const depth = Math.min(view.getUint8(at + LAYOUT.site.depth), 8);
    const flags = view.getUint8(at + LAYOUT.site.flags);
    const frames: LedgerFrame[] = [];
    for (let k = 0; k < depth; k++) {
      const oi = u32(at + LAYOUT.site.obj + 4 * k);
      const o = oi === NO_OBJ ? undefined : objects[oi];
      frames.push({
        object: o?.path ?? '?',
        objectIndex: oi === NO_OBJ ? -1 : oi,
        offset: num(u64(at + LAYOUT.site.off + 8 * k)),
        ...(o?.buildId ? { buildId: o.buildId } : {}),
      });
    }
    let asyncName: string | undefined;
    if (version >= 2 && flags & SF_NAMED) {
      const nOff = u32(at + LAYOUT.site.nameOff), nLen = u32(at + LAYOUT.site.nameLen);
      if (nOff + nLen <= strCap) asyncName = decoder.decode(bytes.subarray(strOff + nOff, strOff + nOff + nLen));
    }
    const site: LedgerSite = {
      index: i, pair, role: flags & SF_RELEASE ? 'release' : 'acquire', frames,
      ...(asyncName !== undefined ? { asyncName } : {}),
      ...(asyncName !== undefined && flags & SF_NAME_CUT ? { asyncNameCut: true } : {}),
      acquired: 0, released: 0, releasedHere: 0, lost: 0, untracked: 0, teardown: 0, open: 0,
      truncated: (flags & SF_TRUNCATED) !== 0, tailCall: (flags & SF_TAIL) !== 0, depthLimit: (flags & SF_DEPTH_LIMIT) !== 0,
    };
    COUNTERS.forEach((name, k) => { site[name] += num(u64(at + LAYOUT.site.counters + 8 * k)); });
    if (withHandles) { site.openHandles = []; site.refcounts = []; site.openThreads = []; }
    byIndex.set(i, site);
  }

  const addOpen = (siteIndex: number, pairCode: number, handle: bigint, h2: bigint, count: bigint, tid: number) => {
    const site = byIndex.get(siteIndex);
    if (!site || !withHandles) return;
    const text = pairCode === 8 ? `fun=0x${handle.toString(16)},arg=0x${h2.toString(16)}` : `0x${handle.toString(16)}`;
    site.openHandles!.push(text);
    site.refcounts!.push(COUNTED_PAIRS.has(pairCode) ? num(count) : 1);
    site.openThreads!.push(tid);
  };
  const readOpenTable = (tagsAt: number, entriesAt: number, cap: number) => {
    need(tagsAt, cap * 4, 'open-handle tags');
    need(entriesAt, cap * LAYOUT.open.size, 'open-handle entries');
    // fast scan of the tag words (most are 0)
    const aligned = (bytes.byteOffset + tagsAt) % 4 === 0;
    const tags = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset + tagsAt, cap) : undefined;
    for (let s = 0; s < cap; s++) {
      const tag = tags ? tags[s]! : u32(tagsAt + 4 * s);
      if (tag === 0 || (tag & 3) !== OT_LIVE) continue;
      const e = entriesAt + s * LAYOUT.open.size;
      const siteIndex = u32(e + LAYOUT.open.site);
      if (siteIndex === NO_SITE) continue;
      addOpen(siteIndex, view.getUint16(e + LAYOUT.open.pair, true), u64(e + LAYOUT.open.h1), u64(e + LAYOUT.open.h2),
        view.getBigInt64(e + LAYOUT.open.count, true), u32(e + LAYOUT.open.tid));
    }
  };

  // global open table
  readOpenTable(u32(H.openTagsOff), u32(H.openOff), u32(H.openCap));

  // thread segments: their counters and open tables
  const threads: LedgerThread[] = [];
  const segDir = u32(H.segDirOff), segCap = u32(H.segCap), segUsed = Math.min(u32(H.segUsed), segCap);
  need(segDir, segCap * 8, 'segment directory');
  for (let i = 0; i < segUsed; i++) {
    const segAt = num(u64(segDir + 8 * i));
    if (segAt === 0 || segAt + LAYOUT.seg.size > bytes.length) continue; // appended after this copy was cut
    if (u32(segAt + LAYOUT.seg.magic) !== SEG_MAGIC) continue;
    const S = LAYOUT.seg;
    const tid = u32(segAt + S.tid);
    const ctrCap = u32(segAt + S.ctrCap), openCap = u32(segAt + S.openCap);
    const ctrAt = segAt + u32(segAt + S.ctrOff);
    const hsAt = segAt + u32(segAt + S.hsOff), hsCap = u32(segAt + S.hsCap);
    const hsTop = Math.min(u32(segAt + S.hsTop), hsCap);
    need(ctrAt, ctrCap * LAYOUT.segCtr.size, 'segment counters');
    need(hsAt, hsCap * LAYOUT.hs.size, 'segment handle-scope stack');
    for (let c = 0; c < ctrCap; c++) {
      const at = ctrAt + c * LAYOUT.segCtr.size;
      const site1 = u32(at + LAYOUT.segCtr.site1);
      if (site1 === 0) continue;
      const site = byIndex.get(site1 - 1);
      if (!site) continue;
      COUNTERS.forEach((name, k) => { site[name] += num(u64(at + LAYOUT.segCtr.counters + 8 * k)); });
    }
    readOpenTable(segAt + u32(segAt + S.tagsOff), segAt + u32(segAt + S.openOff), openCap);
    // the ring of recent acquisitions (open_entry, live when flags & 1)
    const recentAt = segAt + u32(segAt + S.recentOff), recentCap = u32(segAt + S.recentCap);
    need(recentAt, recentCap * LAYOUT.open.size, 'segment recent ring');
    for (let k = 0; k < recentCap; k++) {
      const e = recentAt + k * LAYOUT.open.size;
      if ((view.getUint16(e + LAYOUT.open.flags, true) & 1) === 0) continue;
      const siteIndex = u32(e + LAYOUT.open.site);
      if (siteIndex === NO_SITE) continue;
      addOpen(siteIndex, view.getUint16(e + LAYOUT.open.pair, true), u64(e + LAYOUT.open.h1), u64(e + LAYOUT.open.h2),
        view.getBigInt64(e + LAYOUT.open.count, true), u32(e + LAYOUT.open.tid));
    }
    for (let k = 0; k < hsTop; k++) {
      const at = hsAt + k * LAYOUT.hs.size;
      addOpen(u32(at + LAYOUT.hs.site), view.getUint16(at + LAYOUT.hs.pair, true), u64(at + LAYOUT.hs.h), 0n, 1n, tid);
    }
    threads.push({
      index: i, tid,
      createdUnixMs: num(u64(segAt + S.createdUnixNs) / 1000000n),
      overflow: num(u64(segAt + S.overflow)),
      openHandleScopes: hsTop,
    });
  }

  const sites = [...byIndex.values()].filter((s) => options.releaseSites !== false || s.role === 'acquire');
  for (const s of sites) s.open = s.acquired - s.released - s.lost - s.teardown;
  sites.sort((a, b) => b.open - a.open || b.acquired - a.acquired || a.index - b.index);

  const flags = u32(H.flags);
  return {
    version,
    pid: u32(H.pid),
    maxDepth: u32(H.maxDepth),
    startUnixMs: num(u64(H.startUnixNs) / 1000000n),
    releaseSites: (flags & 5) !== 0,
    releaseSitesAll: (flags & 4) !== 0,
    handleScopes: (flags & 16) === 0,
    asyncNames: version >= 2 && (flags & 8) !== 0,
    verifyMode: (flags & 2) !== 0,
    objects: objects.filter(Boolean),
    sites,
    threads,
    totals: {
      unmatchedReleases: perPair(view, H.unmatchedRelease),
      noSite: perPair(view, H.noSite),
      untracked: perPair(view, H.untracked),
      failedCalls: perPair(view, H.failedCalls),
    },
    stats: {
      memoMisses: num(u64(H.memoMisses)),
      framesComputed: num(u64(H.framesComputed)),
      chainsTruncated: num(u64(H.chainsTruncated)),
      chainsTail: num(u64(H.chainsTail)),
      verifyChecked: num(u64(H.verifyChecked)),
      verifyMismatch: num(u64(H.verifyMismatch)),
      pcCacheFull: num(u64(H.pcCacheFull)),
      wrappedBindings: num(u64(H.wrappedBindings)),
      foreignBindings: num(u64(H.foreignBindings)),
      refcountUnknown: num(u64(H.refcountUnknown)),
      objectsClosed: num(u64(H.objectsClosed)),
      threadsWithoutSegment: num(u64(H.noSegment)),
      sitesUsed: u32(H.siteUsed),
      siteCapacity: siteCap,
      namesUsed: version >= 2 ? u32(H.nameUsed) : 0,
      namesUnreadable: version >= 2 ? num(u64(H.namesUnreadable)) : 0,
      namesDropped: version >= 2 ? num(u64(H.namesDropped)) : 0,
    },
  };
}

/** Reads and parses a ledger file (or a cut copy). */
export function readNativeLedger(path: string, options?: ParseOptions): NativeLedger {
  return parseNativeLedger(readFileSync(path), options);
}

/** A stable key for a site across cuts of the same process (the site index is stable too). */
export function siteKey(site: Pick<LedgerSite, 'pair' | 'role' | 'frames' | 'asyncName'>): string {
  const name = site.asyncName !== undefined ? `|name=${JSON.stringify(site.asyncName)}` : '';
  return `${site.pair}|${site.role}|${site.frames.map((f) => `${f.object}+0x${f.offset.toString(16)}`).join('<')}${name}`;
}

export interface SiteDelta {
  pair: NativePair;
  role: 'acquire' | 'release';
  frames: LedgerFrame[];
  asyncName?: string;
  acquired: number;
  released: number;
  releasedHere: number;
  /** change of the open count between the two cuts */
  open: number;
  /** open count in the later cut */
  openAfter: number;
}

/** Per-site change between two cuts of one process (sites with any change, most open growth first). */
export function diffNativeLedgers(before: NativeLedger, after: NativeLedger): SiteDelta[] {
  const old = new Map(before.sites.map((s) => [siteKey(s), s]));
  const out: SiteDelta[] = [];
  for (const s of after.sites) {
    const b = old.get(siteKey(s));
    const d: SiteDelta = {
      pair: s.pair, role: s.role, frames: s.frames,
      ...(s.asyncName !== undefined ? { asyncName: s.asyncName } : {}),
      acquired: s.acquired - (b?.acquired ?? 0),
      released: s.released - (b?.released ?? 0),
      releasedHere: s.releasedHere - (b?.releasedHere ?? 0),
      open: s.open - (b?.open ?? 0),
      openAfter: s.open,
    };
    if (d.acquired || d.released || d.releasedHere || d.open) out.push(d);
  }
  return out.sort((a, b) => b.open - a.open || b.acquired - a.acquired);
}

/** Sum of the open counts per pair (acquire sites). */
export function openByPair(ledger: NativeLedger): Partial<Record<NativePair, number>> {
  const out: Partial<Record<NativePair, number>> = {};
  for (const s of ledger.sites) if (s.role === 'acquire') out[s.pair] = (out[s.pair] ?? 0) + s.open;
  return out;
}
