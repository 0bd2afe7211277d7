#!/usr/bin/env node
// napi-heapdiff benchmark: our loader vs peers vs the floor, agent overhead, and a two-snapshot diff.
// See bench/README.md.
//
//   npm run bench                      # builds, then both sizes (120, 700), the agent and the diff sections
//   npm run bench -- --sizes 120,700,4000   # and a 4 GB snapshot (bench/gen-stream.mjs; ~25 min more)
//   node bench/run.mjs --sizes 20 --diff-size 20   # quick smoke run
//   node bench/run.mjs --help
//
// Tables go to stdout, progress to stderr, everything to bench/out/results-<date>.json.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const MB = 1e6; // all sizes in the report are decimal MB (10^6 bytes), file sizes and RSS alike
const CASES = ['floor', 'ours', 'ours-dom', 'ours-dom-huge', 'ours-dom-1cpu', 'inspect', 'toolkit', 'devtools', 'vscode', 'hp'];
/** The peers that compute dominators and retained sizes on load: ours with dominators is held to the fastest. */
const DOMINATOR_PEERS = ['toolkit', 'devtools', 'vscode'];
const GOALS = { peerOverOurs: 5, oursOverFloor: 2.5, rssOverFile: 1.5, agentWork: 1.3, nativeLedger: 1.1, diffOverLoad: 2, diffRssOverFile: 1.5 };
/** Load + dominators on one CPU (taskset -c 0) before this work, per target size (s): not to regress. */
const ONE_CPU_BEFORE = { 120: 0.83, 700: 4.25 };
/** From this target size on, snapshots come from bench/gen-stream.mjs (bench/gen.mjs builds the heap for real: ~5× the file in RSS). */
const STREAM_MIN_MB = 1500;
const DIFF_CASES = ['load2', 'analyze', 'cli', 'tk-diff'];
const V8_MAX_STRING = 0x1fffffe8; // characters; a latin1 file longer than this cannot be one string
const NODE_FLAGS = ['--max-old-space-size=16000'];

// ------------------------------------------------------------------ options
const HELP = `usage: node bench/run.mjs [options]
  --sizes 120,700          snapshot sizes to generate/reuse in bench/out (target MB; default 120,700; sizes from
                           ${STREAM_MIN_MB} on, e.g. 4000, are written by bench/gen-stream.mjs)
  --stream                 every size from bench/gen-stream.mjs (g<size>.heapsnapshot), not bench/gen.mjs
  --cases ${CASES.join(',')}
                           load cases to run (default all)
  --timeout 600            seconds per load case
  --load-reps N            runs of every load case, interleaved, median time and highest peak RSS kept
                           (default 3 for files under 1 GB, 1 above; a case that fails is not run again)
  --no-agent               skip the agent-overhead section
  --agent-only             run only the agent-overhead section
  --agent PATH             agent to --require (default dist/agent/agent.cjs)
  --fixture PATH           trivial addon loop: module with iteration(i) (default native-fixtures/null-resource/ok.mjs)
  --fixture-iterations N   trivial addon loop length (default 200000)
  --work-fixture PATH      addon loop doing real work (default native-fixtures/async-work/ok.mjs)
  --work-iterations N      its length (default 50000)
  --promise-iterations N   promise loop length (default 1000000)
  --reps N                 agent-section repetitions, median taken (default 5)
  --no-native              skip the native-ledger overhead section
  --native-only            run only the native-ledger overhead section
  --no-diff                skip the two-snapshot diff section
  --diff-only              run only the diff section
  --diff-size MB           target size of each snapshot of the diff pair (default 700)
  --diff-cases ${DIFF_CASES.join(',')}
                           diff cases to run (default all)
  --diff-reps N            diff-section repetitions, median taken (default 3)
  --cpu-prof               also write V8 CPU profiles of the "ours" cases to bench/out/prof/
  --out DIR                output dir (default bench/out)`;

function parseArgs(argv) {
  const o = {
    sizes: [120, 700], cases: CASES, timeout: 600, agent: true, native: true, loads: true, diff: true,
    agentPath: path.join(ROOT, 'dist/agent/agent.cjs'),
    fixture: path.join(ROOT, 'native-fixtures/null-resource/ok.mjs'),
    workFixture: path.join(ROOT, 'native-fixtures/async-work/ok.mjs'),
    fixtureN: 200_000, workN: 50_000, promiseN: 1_000_000, reps: 5, cpuProf: false, out: path.join(HERE, 'out'),
    diffSize: 700, diffCases: DIFF_CASES, diffReps: 3, stream: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const num = () => { const v = Number(val()); if (!(v > 0)) fail(`${flag} needs a positive number`); return v; };
    switch (flag) {
      case '--sizes': o.sizes = val().split(',').filter(Boolean).map((s) => { const n = Number(s); if (!(n >= 5)) fail(`bad size "${s}" (MB, >= 5)`); return n; }); break;
      case '--cases': o.cases = val().split(',').filter(Boolean); for (const c of o.cases) if (!CASES.includes(c)) fail(`unknown case "${c}"`); break;
      case '--timeout': o.timeout = num(); break;
      case '--load-reps': o.loadReps = Math.round(num()); break;
      case '--no-agent': o.agent = false; break;
      case '--agent-only': o.loads = false; o.diff = false; o.native = false; break;
      case '--no-native': o.native = false; break;
      case '--native-only': o.loads = false; o.diff = false; o.agent = false; break;
      case '--no-diff': o.diff = false; break;
      case '--diff-only': o.loads = false; o.agent = false; o.native = false; break;
      case '--diff-size': o.diffSize = num(); if (o.diffSize < 5) fail('--diff-size must be ≥ 5 (MB)'); break;
      case '--diff-cases': o.diffCases = val().split(',').filter(Boolean); for (const c of o.diffCases) if (!DIFF_CASES.includes(c)) fail(`unknown diff case "${c}"`); break;
      case '--diff-reps': o.diffReps = Math.round(num()); break;
      case '--work-fixture': o.workFixture = path.resolve(val()); break;
      case '--work-iterations': o.workN = Math.round(num()); break;
      case '--agent': o.agentPath = path.resolve(val()); break;
      case '--fixture': o.fixture = path.resolve(val()); o.fixtureGiven = true; break;
      case '--fixture-iterations': o.fixtureN = Math.round(num()); break;
      case '--promise-iterations': o.promiseN = Math.round(num()); break;
      case '--reps': o.reps = Math.round(num()); break;
      case '--cpu-prof': o.cpuProf = true; break;
      case '--stream': o.stream = true; break;
      case '--out': o.out = path.resolve(val()); break;
      case '-h': case '--help': console.log(HELP); process.exit(0); break;
      default: fail(`unknown option ${a}\n${HELP}`);
    }
  }
  return o;
}
function fail(msg) { console.error(`bench: ${msg}`); process.exit(2); }

const opts = parseArgs(process.argv.slice(2));
const t0 = Date.now();
const stamp = () => `[${new Date().toISOString().slice(11, 19)} +${((Date.now() - t0) / 1000).toFixed(0)}s]`;
const log = (msg) => process.stderr.write(`${stamp()} ${msg}\n`);

// ------------------------------------------------------------------ child processes
const TIME_BIN = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const TIMEOUT_BIN = fs.existsSync('/usr/bin/timeout') ? '/usr/bin/timeout' : undefined;

const TASKSET_BIN = fs.existsSync('/usr/bin/taskset') ? '/usr/bin/taskset' : undefined;

/** The node processes under `pid` (itself included), from every process's parent in /proc/<pid>/stat. */
function nodeProcessesUnder(pid) {
  const children = new Map();
  const names = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8'); } catch { continue; }
    // pid (comm) state ppid …: comm may hold spaces and parentheses; the last ")" ends it.
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const found = [];
  const visit = (p) => {
    if (names.get(p)?.startsWith('node')) found.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return found;
}
const rssKiBOf = (pid) => { try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; } };

/**
 * Runs `node <nodeArgs>` in its own process with a timeout. Under /usr/bin/time -v when present, so
 * peak RSS is known even when the child dies (OOM, timeout). Returns exit info, time's max RSS (KiB),
 * wall time seen from here, and the tail of the child's stderr/stdout. `oneCpu`: under taskset -c 0.
 * `treeRss`: also the peak of the summed RSS of every node process under it, sampled every 50 ms (a
 * command that starts a second node process: /usr/bin/time reports the larger of the two).
 */
function runNode(nodeArgs, { timeoutS, cwd = ROOT, oneCpu = false, treeRss = false, env = undefined } = {}) {
  return new Promise((resolve) => {
    const useTime = TIME_BIN && TIMEOUT_BIN;
    const pin = oneCpu && TASKSET_BIN ? [TASKSET_BIN, '-c', '0'] : [];
    const run = [...pin, process.execPath, ...nodeArgs];
    const [cmd, ...args] = useTime ? [TIME_BIN, '-v', TIMEOUT_BIN, '-k', '10', String(timeoutS), ...run] : run;
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let treePeakKiB = 0;
    let treeMaxProcesses = 0;
    const sampler = treeRss && process.platform === 'linux' ? setInterval(() => {
      const pids = nodeProcessesUnder(child.pid);
      treeMaxProcesses = Math.max(treeMaxProcesses, pids.length);
      treePeakKiB = Math.max(treePeakKiB, pids.reduce((sum, pid) => sum + rssKiBOf(pid), 0));
    }, 50) : undefined;
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => { stdout = (stdout + d).slice(-20000); });
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-40000); });
    let killedByUs = false;
    const backstop = setTimeout(() => { killedByUs = true; child.kill('SIGKILL'); }, (timeoutS + 30) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(backstop);
      if (sampler) clearInterval(sampler);
      const elapsedMs = Date.now() - started;
      let timeRssKiB;
      let exitCode = code;
      let termSignal = signal;
      let childErr = stderr;
      const at = useTime ? stderr.lastIndexOf('\tCommand being timed:') : -1;
      if (at >= 0) {
        const report = stderr.slice(at);
        childErr = stderr.slice(0, at);
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
        if (m) timeRssKiB = Number(m[1]);
        const sig = /Command terminated by signal (\d+)/.exec(report);
        if (sig) termSignal = `signal ${sig[1]}`;
        const ex = /Exit status: (\d+)/.exec(report);
        if (ex) exitCode = Number(ex[1]);
      }
      // timeout(1) exits 124 when it had to stop the command (137 if it needed -k's KILL).
      const timedOut = killedByUs || (useTime && (exitCode === 124 || exitCode === 137) && elapsedMs >= timeoutS * 1000 - 500);
      resolve({ exitCode, signal: termSignal, timedOut, elapsedMs, timeRssKiB, treePeakKiB: sampler ? treePeakKiB : undefined, treeMaxProcesses: sampler ? treeMaxProcesses : undefined, stderrTail: childErr.trim().slice(-1500), stdoutTail: stdout.trim().slice(-1500), stdout });
    });
  });
}

// ------------------------------------------------------------------ snapshots
const expectedBytes = (targetMB) => targetMB * 1048576 * 1.03; // gen.mjs lands within a few % of this

/** Finds where each top-level section starts (first occurrence of `"name":`), reading in 4 MiB chunks.
 *  Also warms the page cache, so every case reads the file from memory. */
function scanSections(file) {
  const keys = ['snapshot', 'nodes', 'edges', 'trace_function_infos', 'trace_tree', 'samples', 'locations', 'strings'];
  const patterns = keys.map((k) => [k, Buffer.from(`"${k}":`)]);
  const found = new Map();
  const OVERLAP = 64;
  const buf = Buffer.allocUnsafe((4 << 20) + OVERLAP);
  const fd = fs.openSync(file, 'r');
  let carry = 0;
  let base = 0; // file offset of buf[0]
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, carry, buf.length - carry, null);
      if (n <= 0) break;
      const len = carry + n;
      if (!found.has('strings')) {
        for (const [k, p] of patterns) {
          if (found.has(k)) continue;
          const i = buf.indexOf(p, 0);
          if (i >= 0 && i < len) found.set(k, base + i);
        }
      }
      const keep = Math.min(OVERLAP, len);
      buf.copy(buf, 0, len - keep, len);
      base += len - keep;
      carry = keep;
    }
  } finally {
    fs.closeSync(fd);
  }
  const sections = [...found].map(([name, start]) => ({ name, start })).sort((a, b) => a.start - b.start);
  if (sections.length) sections[0].start = 0; // header bytes ("{") count as the snapshot meta
  return sections;
}

function headerCounts(file) {
  const head = Buffer.alloc(8192);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const h = head.toString('latin1');
  return { nodeCount: Number(/"node_count":(\d+)/.exec(h)?.[1]), edgeCount: Number(/"edge_count":(\d+)/.exec(h)?.[1]) };
}

/** bench/gen-stream.mjs for this size (g<size>), or bench/gen.mjs (s<size>)? */
const streamed = (targetMB) => opts.stream || targetMB >= STREAM_MIN_MB;

async function ensureSnapshot(targetMB) {
  if (streamed(targetMB)) return ensureStreamedSnapshot(targetMB);
  const file = path.join(opts.out, `s${targetMB}.heapsnapshot`);
  const want = expectedBytes(targetMB);
  let generated;
  const stat = fs.existsSync(file) ? fs.statSync(file) : undefined;
  if (stat && stat.size >= want * 0.85 && stat.size <= want * 1.2) {
    log(`${targetMB} MB: reusing ${path.relative(ROOT, file)} (${(stat.size / MB).toFixed(1)} MB)`);
  } else {
    if (stat) log(`${targetMB} MB: ${path.relative(ROOT, file)} has the wrong size (${(stat.size / MB).toFixed(1)} MB), regenerating`);
    log(`${targetMB} MB: generating ${path.relative(ROOT, file)} with bench/gen.mjs${targetMB >= 500 ? ' (~1.5 min, ~3.6 GB RSS)' : ''}`);
    const r = await runNode([...NODE_FLAGS, path.join(HERE, 'gen.mjs'), String(targetMB), file], { timeoutS: 1800 });
    if (r.exitCode !== 0 || !fs.existsSync(file)) {
      throw new Error(`generating ${file} failed (exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}): ${r.stderrTail.slice(-500)}`);
    }
    try { generated = JSON.parse(r.stdoutTail.split('\n').pop()); } catch { generated = undefined; }
    log(`${targetMB} MB: generated in ${(r.elapsedMs / 1000).toFixed(1)} s, ${((r.timeRssKiB ?? 0) * 1024 / MB).toFixed(0)} MB peak RSS`);
  }
  return describeSnapshot(file, targetMB, 'bench/gen.mjs', generated);
}

/** A snapshot of any size written by bench/gen-stream.mjs (~25 s a GB, ~150 MB RSS), reused when its size is plausible. */
async function ensureStreamedSnapshot(targetMB) {
  const file = path.join(opts.out, `g${targetMB}.heapsnapshot`);
  const want = targetMB * 1048576;
  let generated;
  const stat = fs.existsSync(file) ? fs.statSync(file) : undefined;
  if (stat && stat.size >= want * 0.9 && stat.size <= want * 1.1) {
    log(`${targetMB} MB: reusing ${path.relative(ROOT, file)} (${(stat.size / MB).toFixed(1)} MB)`);
  } else {
    log(`${targetMB} MB: generating ${path.relative(ROOT, file)} with bench/gen-stream.mjs (~${Math.ceil(targetMB / 40)} s)`);
    const r = await runNode([path.join(HERE, 'gen-stream.mjs'), String(targetMB), file], { timeoutS: 3600 });
    if (r.exitCode !== 0 || !fs.existsSync(file)) {
      throw new Error(`generating ${file} failed (exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}): ${r.stderrTail.slice(-500)}`);
    }
    try { generated = JSON.parse(r.stdoutTail.split('\n').pop()); } catch { generated = undefined; }
    log(`${targetMB} MB: generated in ${(r.elapsedMs / 1000).toFixed(1)} s, ${((r.timeRssKiB ?? 0) * 1024 / MB).toFixed(0)} MB peak RSS`);
  }
  return describeSnapshot(file, targetMB, 'bench/gen-stream.mjs', generated);
}

/** Header counts and section offsets (kept in <file>.json), and the file read once into the page cache. */
function describeSnapshot(file, targetMB, generator, generated) {
  const sidecar = `${file}.json`;
  const size = fs.statSync(file).size;
  const mtimeMs = fs.statSync(file).mtimeMs;
  let meta;
  try {
    meta = JSON.parse(fs.readFileSync(sidecar, 'utf8'));
    if (meta.bytes !== size || meta.mtimeMs !== mtimeMs) meta = undefined;
  } catch { meta = undefined; }
  const tScan = Date.now();
  const sections = scanSections(file); // always: warms the page cache
  if (!meta) {
    meta = { file: path.relative(ROOT, file), targetMB, bytes: size, mtimeMs, ...headerCounts(file), sections, generator, generated };
    fs.writeFileSync(sidecar, JSON.stringify(meta, null, 1));
  }
  log(`${targetMB} MB: ${meta.nodeCount.toLocaleString('en')} nodes, ${meta.edgeCount.toLocaleString('en')} edges; section scan + cache warm-up ${Date.now() - tScan} ms`);
  return { file, sidecar, meta };
}

// ------------------------------------------------------------------ load cases
const pkgVersion = (name) => {
  try { return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return '?'; }
};
const LABELS = {
  floor: 'floor (4 MiB reads + 1 byte pass)',
  ours: 'ours: load, no dominators',
  'ours-dom': 'ours: load + dominators',
  'ours-dom-huge': 'ours: load + dominators, huge pages (as the CLI runs it from 256 MB on)',
  'ours-dom-1cpu': 'ours: load + dominators, one CPU (taskset -c 0)',
  inspect: 'ours: napi-heapdiff inspect (CLI, whole process)',
  toolkit: `heap-snapshot-toolkit ${pkgVersion('heap-snapshot-toolkit')} (DevTools' loader, one thread, incl. dominators)`,
  devtools: `DevTools today (chrome-devtools-mcp ${pkgVersion('chrome-devtools-mcp')}: worker + second worker, incl. dominators)`,
  vscode: `@vscode/v8-heap-parser ${pkgVersion('@vscode/v8-heap-parser')} (Rust → WASM, incl. dominators)`,
  hp: `heapsnapshot-parser ${pkgVersion('heapsnapshot-parser')}`,
};

async function runCase(name, snap, size) {
  if (name === 'inspect') return runInspect(snap, size);
  const resultFile = path.join(opts.out, 'tmp', `${name}-s${size}-${process.pid}.json`);
  fs.mkdirSync(path.dirname(resultFile), { recursive: true });
  fs.rmSync(resultFile, { force: true });
  const flags = [...NODE_FLAGS];
  if (opts.cpuProf && name.startsWith('ours')) {
    flags.push('--cpu-prof', `--cpu-prof-dir=${path.join(opts.out, 'prof')}`, `--cpu-prof-name=${name}-s${size}-${Date.now()}.cpuprofile`);
  }
  log(`${size} MB: ${name} ...`);
  const oneCpu = name.endsWith('-1cpu');
  const huge = name.endsWith('-huge');
  const caseName = oneCpu || huge ? name.slice(0, name.lastIndexOf('-')) : name;
  // The library as the CLI runs it for big snapshots (src/cli/huge-pages.ts): glibc asks for transparent huge pages.
  const env = huge ? { ...process.env, GLIBC_TUNABLES: [process.env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1'].filter(Boolean).join(':') } : undefined;
  const r = await runNode([...flags, path.join(HERE, 'case.mjs'), caseName, snap.file, resultFile, snap.sidecar], { timeoutS: opts.timeout, oneCpu, env });
  let res;
  try { res = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { res = undefined; }
  fs.rmSync(resultFile, { force: true });
  const out = { case: name, label: LABELS[name], ...res };
  if (!res) {
    out.ok = false;
    const lastLine = r.stderrTail.split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
    out.error = r.timedOut ? `timeout after ${opts.timeout} s`
      : `child died (exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}): ${lastLine || '(no output)'}`;
    out.afterMs = r.elapsedMs;
  }
  if (oneCpu && !TASKSET_BIN) out.note = 'taskset missing: ran on every CPU';
  out.timeRssKiB = r.timeRssKiB;
  out.wallMs = r.elapsedMs;
  const rssKiB = r.timeRssKiB ?? out.maxRssKiB;
  out.peakRssMB = rssKiB === undefined ? undefined : (rssKiB * 1024) / MB;
  out.rssSource = r.timeRssKiB !== undefined ? '/usr/bin/time -v' : out.maxRssKiB !== undefined ? 'process.resourceUsage().maxRSS' : undefined;
  out.rssOverFile = out.peakRssMB === undefined ? undefined : (out.peakRssMB * MB) / snap.meta.bytes;
  if (!out.ok && name === 'hp' && snap.meta.bytes > V8_MAX_STRING) out.expectedFailure = 'file > V8 max string length';
  log(`${size} MB: ${name}: ${out.ok ? `${(out.loadMs / 1000).toFixed(2)} s` : `FAIL (${out.error})`}, peak RSS ${out.peakRssMB?.toFixed(0) ?? '?'} MB`);
  return out;
}

/**
 * `napi-heapdiff inspect <file> --json <tmp>` as a user runs it (no node flags): wall time of the whole
 * command (start-up, load, dominators, class aggregation, rendering, the JSON file). From 256 MB on
 * the CLI runs the analysis in a second process with huge pages (src/cli/huge-pages.ts): its RSS is
 * the summed RSS of both node processes, sampled every 50 ms (the node binary's pages, shared, are
 * counted twice), next to /usr/bin/time's (the larger of the two).
 */
async function runInspect(snap, size) {
  const json = path.join(opts.out, 'tmp', `inspect-s${size}-${process.pid}.json`);
  fs.mkdirSync(path.dirname(json), { recursive: true });
  fs.rmSync(json, { force: true });
  log(`${size} MB: inspect ...`);
  const r = await runNode([path.join(ROOT, 'dist/cli/main.js'), 'inspect', snap.file, '--json', json], { timeoutS: opts.timeout, treeRss: true });
  let result;
  try { result = JSON.parse(fs.readFileSync(json, 'utf8')); } catch { result = undefined; }
  fs.rmSync(json, { force: true });
  const out = { case: 'inspect', label: LABELS.inspect, ok: r.exitCode === 0 && result !== undefined, wallMs: r.elapsedMs, timeRssKiB: r.timeRssKiB, processes: r.treeMaxProcesses };
  if (out.ok) {
    out.loadMs = r.elapsedMs;
    out.nodeCount = result.nodeCount;
    out.phases = { 'whole process (wall)': r.elapsedMs };
  } else {
    out.error = r.timedOut ? `timeout after ${opts.timeout} s` : `exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}: ${r.stderrTail.split('\n').filter((l) => l.trim()).slice(-2).join(' | ')}`;
    out.afterMs = r.elapsedMs;
  }
  const treeKiB = r.treePeakKiB || undefined;
  const rssKiB = treeKiB !== undefined && r.timeRssKiB !== undefined ? Math.max(treeKiB, r.timeRssKiB) : treeKiB ?? r.timeRssKiB;
  out.peakRssMB = rssKiB === undefined ? undefined : (rssKiB * 1024) / MB;
  out.rssSource = treeKiB !== undefined ? 'sum over its node processes (sampled)' : '/usr/bin/time -v';
  out.rssOverFile = out.peakRssMB === undefined ? undefined : (out.peakRssMB * MB) / snap.meta.bytes;
  log(`${size} MB: inspect: ${out.ok ? `${fmtS(out.loadMs)} s` : `FAIL (${out.error})`}, peak RSS ${out.peakRssMB?.toFixed(0) ?? '?'} MB in ${r.treeMaxProcesses ?? '?'} node process(es)`);
  return out;
}

/**
 * One row from a case's runs: the run of median time (its phases with it), the highest peak RSS of
 * them all (a bound holds only if every run kept it), or the failed run if one failed.
 */
function medianRun(done, snap) {
  const failed = done.find((r) => !r.ok);
  if (failed) return { ...failed, runs: done.length };
  const sorted = [...done].sort((a, b) => a.loadMs - b.loadMs);
  const median = { ...sorted[(sorted.length - 1) >> 1], runs: done.length, runMs: done.map((r) => r.loadMs) };
  const highest = done.reduce((a, r) => ((r.peakRssMB ?? -1) > (a.peakRssMB ?? -1) ? r : a));
  median.peakRssMB = highest.peakRssMB;
  median.rssOverFile = highest.rssOverFile;
  median.timeRssKiB = highest.timeRssKiB;
  median.maxRssKiB = highest.maxRssKiB;
  return median;
}

// ------------------------------------------------------------------ formatting
const fmtS = (ms) => (ms / 1000).toFixed(2);
/** 1-minute load average: other processes on the machine make wall-clock figures move. */
const loadAvg = () => os.loadavg()[0].toFixed(2);
const fmtX = (x) => (x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);
function table(rows, align) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) => r.map((v, c) => (align[c] === 'r' ? String(v ?? '').padStart(widths[c]) : String(v ?? '').padEnd(widths[c]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
function phaseText(r) {
  if (!r.ok) return r.phases ? Object.entries(r.phases).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  const parts = Object.entries(r.phases ?? {}).map(([k, v]) => {
    if (k === 'loadSnapshot' && r.loadSnapshotSplit) {
      return `loadSnapshot ${v} [${Object.entries(r.loadSnapshotSplit).filter(([, b]) => b > 0).map(([a, b]) => `${a} ${b}`).join(', ')}]`;
    }
    return `${k} ${v}`;
  });
  return `${parts.join(', ')}${r.gcMs === undefined ? '' : `; GC ${r.gcMs} ms in ${r.gcCount} pauses`}`;
}

function goalRow(label, value, goal, kind, missText) {
  let status = '';
  if (goal !== undefined) {
    if (value === undefined) status = 'n/a';
    else if (kind === '>=') status = value >= goal ? 'met' : `MISSED: ${missText}`;
    else status = value <= goal ? 'met' : `MISSED: ${missText}`;
  }
  return [label, fmtX(value), goal === undefined ? '(info)' : `${kind === '>=' ? '≥' : '≤'} ${goal}×`, status];
}

function report(size, snap, results) {
  const by = Object.fromEntries(results.map((r) => [r.case, r]));
  const m = snap.meta;
  const out = [];
  out.push(`== ${size} MB target: ${m.file} — ${(m.bytes / MB).toFixed(1)} MB, ${(m.nodeCount / 1e6).toFixed(2)}M nodes, ${(m.edgeCount / 1e6).toFixed(2)}M edges ==`);
  const rows = [['case', 'time (s)', 'peak RSS (MB)', 'RSS ÷ file', 'MB/s', 'note']];
  for (const r of results) {
    const note = r.ok ? '' : `${r.expectedFailure ? 'FAIL (expected: ' + r.expectedFailure + '): ' : 'FAIL: '}${r.error}${r.afterMs !== undefined ? ` (after ${fmtS(r.afterMs)} s)` : ''}`;
    rows.push([
      r.label, r.ok ? fmtS(r.loadMs) : 'FAIL', r.peakRssMB === undefined ? '?' : r.peakRssMB.toFixed(0), fmtX(r.rssOverFile),
      r.ok ? ((m.bytes / MB) / (r.loadMs / 1000)).toFixed(0) : '', note.replace(/\s+/g, ' ').slice(0, 160),
    ]);
  }
  out.push(table(rows, ['l', 'r', 'r', 'r', 'r', 'l']));
  const repeated = results.filter((r) => r.runMs?.length > 1);
  if (repeated.length) {
    out.push(`time = median of ${repeated[0].runMs.length} interleaved runs (the faster middle one of an even count), peak RSS = the highest; every run (s): ${repeated.map((r) => `${r.case} ${r.runMs.map(fmtS).join('/')}`).join(', ')}`);
  }
  out.push('');
  const ratios = {};
  const od = by['ours-dom'];
  const o = by.ours;
  const fl = by.floor;
  const okTime = (r) => (r?.ok ? r.loadMs : undefined);
  const rr = [['ratio (same run)', 'value', 'goal', 'status']];
  // Every peer that computes dominators, and the fastest of them: ours with dominators is held to that one.
  const peers = DOMINATOR_PEERS.map((c) => by[c]).filter((r) => okTime(r));
  const best = peers.reduce((a, r) => (a === undefined || r.loadMs < a.loadMs ? r : a), undefined);
  if (best && okTime(od)) {
    const v = (ratios.bestPeerOverOursDom = best.loadMs / od.loadMs);
    ratios.bestPeer = best.case;
    const need = best.loadMs / GOALS.peerOverOurs;
    rr.push(goalRow(`fastest peer (${best.case}) ÷ ours+dominators`, v, GOALS.peerOverOurs, '>=', `by ${fmtX(GOALS.peerOverOurs / v)}: ours+dom must drop from ${fmtS(od.loadMs)} s to ≤ ${fmtS(need)} s (−${((1 - need / od.loadMs) * 100).toFixed(0)}%)`));
    for (const r of peers) if (r !== best) rr.push(goalRow(`${r.case} ÷ ours+dominators`, (ratios[`${r.case}OverOursDom`] = r.loadMs / od.loadMs)));
    const huge = by['ours-dom-huge'];
    if (okTime(huge)) rr.push(goalRow(`fastest peer (${best.case}) ÷ ours+dominators with huge pages`, (ratios.bestPeerOverOursDomHuge = best.loadMs / huge.loadMs)));
  } else if (okTime(od)) {
    rr.push([`fastest peer ÷ ours+dominators`, '–', `≥ ${GOALS.peerOverOurs}×`, `n/a: no peer loaded this file (${DOMINATOR_PEERS.map((c) => `${c}: ${by[c] ? (by[c].ok ? 'ok' : 'failed') : 'not run'}`).join(', ')})`]);
  }
  if (okTime(od) && okTime(fl)) {
    const v = (ratios.oursDomOverFloor = od.loadMs / fl.loadMs);
    rr.push(goalRow('ours+dominators ÷ floor (time)', v));
  }
  const rssGoal = (label, r, key) => {
    if (r?.rssOverFile === undefined) return;
    const v = (ratios[key] = r.rssOverFile);
    const need = (GOALS.rssOverFile * m.bytes) / MB;
    rr.push(goalRow(label, v, GOALS.rssOverFile, '<=', `by ${fmtX(v / GOALS.rssOverFile)}: peak RSS must drop from ${r.peakRssMB.toFixed(0)} MB to ≤ ${need.toFixed(0)} MB (−${((1 - need / r.peakRssMB) * 100).toFixed(0)}%)`));
  };
  rssGoal('ours+dominators peak RSS ÷ file', od, 'oursDomRssOverFile');
  rssGoal('inspect (CLI, whole process) peak RSS ÷ file', by.inspect, 'inspectRssOverFile');
  rssGoal('ours (no dominators) peak RSS ÷ file', o, 'oursRssOverFile');
  // The floor is a loader's (reading + one scan): the load is held to it; with dominators is shown too.
  if (okTime(o) && okTime(fl)) {
    const v = (ratios.oursOverFloor = o.loadMs / fl.loadMs);
    rr.push(goalRow('ours (no dominators) ÷ floor (time)', v, GOALS.oursOverFloor, '<=', `by ${fmtX(v / GOALS.oursOverFloor)}: ≤ ${fmtS(fl.loadMs * GOALS.oursOverFloor)} s`));
  }
  const one = by['ours-dom-1cpu'];
  if (okTime(one)) {
    const before = ONE_CPU_BEFORE[size];
    ratios.oneCpuMs = one.loadMs;
    if (before !== undefined) {
      const v = (ratios.oneCpuOverBefore = one.loadMs / 1000 / before);
      rr.push(goalRow(`one CPU, load + dominators ÷ before (${before.toFixed(2)} s)`, v, 1, '<=', `by ${fmtX(v)}: ${fmtS(one.loadMs)} s against ${before.toFixed(2)} s`));
    } else rr.push([`one CPU, load + dominators`, `${fmtS(one.loadMs)} s`, '(info: no earlier figure at this size)', '']);
  }
  if (rr.length > 1) out.push(table(rr, ['l', 'r', 'l', 'l']));
  else out.push('(no ratios: a case they need failed or was not run)');
  out.push('');
  out.push('phases (ms):');
  for (const r of results) {
    const worker = r.workerSteps && Object.keys(r.workerSteps).length ? `; its worker: ${Object.entries(r.workerSteps).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
    out.push(`  ${r.case}: ${phaseText(r) || (r.ok ? '' : 'failed')}${worker}`);
  }
  const srcs = [...new Set(results.map((r) => r.rssSource).filter(Boolean))];
  const cross = results.filter((r) => r.timeRssKiB !== undefined && r.maxRssKiB !== undefined)
    .map((r) => `${r.case} ${((r.maxRssKiB * 1024) / MB).toFixed(0)}`).join(', ');
  out.push(`peak RSS = ${srcs.join(' / ') || '?'} (the child's max resident set size)${cross ? `; the child's own process.resourceUsage().maxRSS at exit: ${cross} MB` : ''}`);
  return { text: out.join('\n'), ratios };
}

/** Time and memory per MB of file at each size, against the smallest: how the cost grows with the file. */
function scalingReport(sizes) {
  const rows = [['size', 'file (MB)', 'generator', 'ours load (s)', 'ours+dom (s)', 'ours+dom ms/MB', '× smallest', 'huge pages: ours+dom (s)', 'ms/MB', '× smallest', 'ours+dom RSS ÷ file', 'inspect (s)', 'inspect RSS ÷ file', 'fastest peer ms/MB']];
  const perMB = (r, bytes) => (r?.ok ? r.loadMs / (bytes / MB) : undefined);
  const first = sizes[0];
  const base = perMB(first.cases.find((c) => c.case === 'ours-dom'), first.bytes);
  const baseHuge = perMB(first.cases.find((c) => c.case === 'ours-dom-huge'), first.bytes);
  for (const sz of sizes) {
    const get = (c) => sz.cases.find((r) => r.case === c);
    const od = get('ours-dom');
    const peers = DOMINATOR_PEERS.map(get).filter((r) => r?.ok);
    const best = peers.reduce((a, r) => (a === undefined || r.loadMs < a.loadMs ? r : a), undefined);
    const v = perMB(od, sz.bytes);
    const huge = get('ours-dom-huge');
    const vh = perMB(huge, sz.bytes);
    rows.push([sz.targetMB, (sz.bytes / MB).toFixed(0), sz.generator?.replace('bench/', '') ?? '', get('ours')?.ok ? fmtS(get('ours').loadMs) : '–', od?.ok ? fmtS(od.loadMs) : '–',
      v === undefined ? '–' : v.toFixed(2), v === undefined || base === undefined ? '–' : fmtX(v / base),
      huge?.ok ? fmtS(huge.loadMs) : '–', vh === undefined ? '–' : vh.toFixed(2), vh === undefined || baseHuge === undefined ? '–' : fmtX(vh / baseHuge), fmtX(od?.rssOverFile),
      get('inspect')?.ok ? fmtS(get('inspect').loadMs) : '–', fmtX(get('inspect')?.rssOverFile), best ? `${perMB(best, sz.bytes).toFixed(1)} (${best.case})` : '–']);
  }
  return ['== scaling: cost per MB of file, each size against the smallest (linear growth = 1.00×) ==', table(rows, ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'])].join('\n');
}

/**
 * The streamed snapshots are checked against a real one: bench/gen-stream.mjs at 120 MB beside
 * bench/gen.mjs's s120 (both made if missing), through bench/snapshot-stats.mjs.
 */
async function generatorCheck() {
  const head = '== generator check: bench/gen-stream.mjs (g120) against a real heap written by V8 (bench/gen.mjs, s120) ==';
  const real = await ensureSnapshotWith(120, false);
  const streamedFile = await ensureSnapshotWith(120, true);
  const r = await runNode([path.join(HERE, 'snapshot-stats.mjs'), real.file, streamedFile.file], { timeoutS: 600 });
  if (r.exitCode !== 0) return { text: `${head}\nFAIL: ${r.stderrTail.slice(-300)}` };
  return { text: `${head}\n${r.stdout.trim()}\n(edgeDistance: shares of all edges by |target − source| for targets of ≤ 64 edges; edgesIntoHubs: edges into targets of more)` };
}
async function ensureSnapshotWith(targetMB, stream) {
  if (stream) return ensureStreamedSnapshot(targetMB);
  const saved = opts.stream;
  opts.stream = false;
  try {
    return await ensureSnapshot(targetMB);
  } finally {
    opts.stream = saved;
  }
}

// ------------------------------------------------------------------ agent overhead
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const NOOP_HOOK = path.join(HERE, 'noop-hook.cjs');
/** Preloads per mode: nothing, the no-op hook (the floor), the agent. */
const MODES = ['none', 'hook', 'agent'];
const preload = (mode) => (mode === 'hook' ? ['--require', NOOP_HOOK] : mode === 'agent' ? ['--require', opts.agentPath] : []);

async function runLoop(loop, mode, n = loop.n, env = undefined) {
  const resultFile = path.join(opts.out, 'tmp', `agent-${loop.key}-${mode}-${process.pid}.json`);
  fs.mkdirSync(path.dirname(resultFile), { recursive: true });
  fs.rmSync(resultFile, { force: true });
  const args = [...preload(mode), path.join(HERE, 'agent-loop.mjs'), loop.kind, loop.module ?? '-', String(n), resultFile];
  const r = await runNode(args, { timeoutS: 300, env });
  let res;
  try { res = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { res = undefined; }
  fs.rmSync(resultFile, { force: true });
  if (!res?.ok) {
    const why = res?.error ?? (r.timedOut ? 'timeout after 300 s' : `exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}: ${r.stderrTail.split('\n').slice(-3).join(' | ')}`);
    return { ok: false, error: why };
  }
  return { ...res, wallMs: r.elapsedMs, peakRssMB: r.timeRssKiB === undefined ? undefined : (r.timeRssKiB * 1024) / MB };
}

async function agentSection() {
  const rel = (p) => (p.startsWith(ROOT + path.sep) ? path.relative(ROOT, p) : p);
  if (!fs.existsSync(opts.fixture) && !opts.fixtureGiven) {
    // Whichever correct twin exists (see native-fixtures/README.md), null-resource first.
    const dir = path.join(ROOT, 'native-fixtures');
    const twins = fs.existsSync(dir) ? fs.readdirSync(dir).map((d) => path.join(dir, d, 'ok.mjs')).filter((f) => fs.existsSync(f)) : [];
    if (twins.length) opts.fixture = twins[0];
  }
  const head = `== agent overhead: each loop in its own process with nothing preloaded, a no-op async_hooks hook (the floor of any hook-based agent) and the agent; median of ${opts.reps}, interleaved ==`;
  if (!fs.existsSync(opts.agentPath)) {
    const msg = `SKIPPED: missing ${rel(opts.agentPath)} (the agent; build src/agent first)`;
    log(`agent section ${msg}`);
    return { skipped: msg, text: `${head}\n${msg}` };
  }
  const candidates = [
    { key: 'trivial', kind: 'fixture', module: opts.fixture, n: opts.fixtureN, label: `addon, trivial: ${rel(opts.fixture)}`, goal: undefined },
    { key: 'work', kind: 'fixture', module: opts.workFixture, n: opts.workN, label: `addon, real work: ${rel(opts.workFixture)}`, goal: GOALS.agentWork },
    { key: 'promise', kind: 'promise', module: undefined, n: opts.promiseN, label: 'promises: await Promise.resolve + async fns', goal: undefined },
  ];
  const loops = [];
  const skipped = [];
  for (const loop of candidates) {
    if (loop.kind !== 'fixture') { loops.push(loop); continue; }
    if (!fs.existsSync(loop.module)) { skipped.push(`${loop.label}: ${rel(loop.module)} missing`); continue; }
    log(`agent section: pre-flight ${loop.key} (100 iterations, nothing preloaded)`);
    const pre = await runLoop(loop, 'none', 100);
    if (pre.ok) loops.push(loop);
    else skipped.push(`${loop.label}: does not run (build the addons with npm run build:fixtures?): ${pre.error}`);
  }
  const runs = Object.fromEntries(loops.map((l) => [l.key, { none: [], hook: [], agent: [] }]));
  const errors = [];
  const loadAtStart = loadAvg();
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const loop of loops) {
      for (const mode of MODES) {
        log(`agent section: ${loop.key} loop, ${mode}, rep ${rep}/${opts.reps}`);
        const r = await runLoop(loop, mode);
        if (r.ok) runs[loop.key][mode].push(r);
        else errors.push(`${loop.key}/${mode}/rep${rep}: ${r.error}`);
      }
    }
  }
  const us = (ms, n) => ((ms * 1000) / n).toFixed(2);
  const rows = [['loop', 'iterations', 'none: ms (µs/it)', 'no-op hook: ms (µs/it)', 'agent: ms (µs/it)', 'hook ÷ none (floor)', 'agent ÷ none', 'agent ÷ hook', 'agent ÷ none, CPU', 'goal', 'status']];
  const summary = {};
  const details = [];
  for (const loop of loops) {
    const wall = Object.fromEntries(MODES.map((m) => [m, runs[loop.key][m].map((r) => r.loopMs)]));
    const cpu = Object.fromEntries(MODES.map((m) => [m, runs[loop.key][m].map((r) => r.cpuMs).filter((x) => x !== undefined)]));
    const med = Object.fromEntries(MODES.map((m) => [m, wall[m].length ? median(wall[m]) : undefined]));
    const medCpu = Object.fromEntries(MODES.map((m) => [m, cpu[m].length ? median(cpu[m]) : undefined]));
    const ratio = (a, b) => (a !== undefined && b !== undefined ? a / b : undefined);
    const s = {
      label: loop.label, iterations: loop.n, wallMs: wall, cpuMs: cpu, medianMs: med, medianCpuMs: medCpu,
      hookOverNone: ratio(med.hook, med.none), agentOverNone: ratio(med.agent, med.none), agentOverHook: ratio(med.agent, med.hook),
      agentOverNoneCpu: ratio(medCpu.agent, medCpu.none), goal: loop.goal,
      agentAddsUsPerIteration: med.agent !== undefined && med.none !== undefined ? ((med.agent - med.none) * 1000) / loop.n : undefined,
      hookAddsUsPerIteration: med.hook !== undefined && med.none !== undefined ? ((med.hook - med.none) * 1000) / loop.n : undefined,
    };
    summary[loop.key] = s;
    const cell = (m) => (med[m] === undefined ? 'FAIL' : `${med[m].toFixed(0)} (${us(med[m], loop.n)})`);
    const cpuUs = (m) => (medCpu[m] === undefined ? '?' : us(medCpu[m], loop.n));
    const status = loop.goal === undefined ? '' : s.agentOverNone === undefined ? 'n/a' : s.agentOverNone <= loop.goal ? 'met' : `MISSED by ${fmtX(s.agentOverNone / loop.goal)}`;
    rows.push([loop.label, loop.n.toLocaleString('en'), cell('none'), cell('hook'), cell('agent'), fmtX(s.hookOverNone), fmtX(s.agentOverNone), fmtX(s.agentOverHook), fmtX(s.agentOverNoneCpu),
      loop.goal === undefined ? '(info)' : `≤ ${loop.goal}×`, status]);
    details.push(`  ${loop.key}: wall ms none [${wall.none.map((x) => x.toFixed(0)).join(', ')}], hook [${wall.hook.map((x) => x.toFixed(0)).join(', ')}], agent [${wall.agent.map((x) => x.toFixed(0)).join(', ')}]` +
      (s.agentAddsUsPerIteration !== undefined ? `; agent adds ${s.agentAddsUsPerIteration.toFixed(2)} µs/iteration (the no-op hook ${s.hookAddsUsPerIteration?.toFixed(2) ?? '?'})` : '') +
      `; CPU µs/iteration (median): none ${cpuUs('none')}, hook ${cpuUs('hook')}, agent ${cpuUs('agent')}`);
  }
  const text = [head, `agent: ${rel(opts.agentPath)}; floor: ${rel(NOOP_HOOK)}; loop time measured inside each child (start-up and module import excluded; no warm-up, so the agent's`,
    `first 1000 full creation stacks per name are included); CPU = user + system time of the whole process over the loop (all threads), less sensitive to a busy machine`,
    table(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']), 'runs:', ...details];
  text.push(`1-minute load average: ${loadAtStart} at the start of the section, ${loadAvg()} at its end (${os.cpus().length} CPUs)`);
  if (skipped.length) text.push(`skipped: ${skipped.join('; ')}`);
  if (errors.length) text.push(`failures: ${errors.join('; ')}`);
  return { summary, errors, skipped, loadAverage: [Number(loadAtStart), Number(loadAvg())], text: text.join('\n') };
}

// ------------------------------------------------------------------ native-ledger overhead
/**
 * The addon loops of the agent section, each in its own process, without and with the native
 * call-site ledger (LD_AUDIT, as a capture starts its child): what an addon's own calls pay
 * for being counted per call site. Medians of --reps, interleaved.
 */
async function nativeLedgerSection() {
  const head = `== native-ledger overhead: each addon loop in its own process without and with the LD_AUDIT library; median of ${opts.reps}, interleaved ==`;
  const { compileNativeHelper } = await import(path.join(ROOT, 'dist/native/compile.js'));
  const library = compileNativeHelper('napi-ledger-audit');
  if (!library.path) {
    const msg = `SKIPPED: the native ledger is unavailable here: ${library.unavailable}`;
    log(`native section ${msg}`);
    return { skipped: msg, text: `${head}\n${msg}` };
  }
  const ledgerDir = path.join(opts.out, 'tmp', 'native-ledger');
  const loops = [
    // The trivial loop is one napi_async_init + napi_async_destroy and nothing else per iteration: the ledger's
    // cost per call, shown for information; the goal is held by the loop an addon's call looks like.
    { key: 'trivial', kind: 'fixture', module: opts.fixture, n: opts.fixtureN, label: `addon, trivial: ${path.relative(ROOT, opts.fixture)}`, goal: undefined },
    { key: 'work', kind: 'fixture', module: opts.workFixture, n: opts.workN, label: `addon, real work: ${path.relative(ROOT, opts.workFixture)}`, goal: GOALS.nativeLedger },
  ].filter((loop) => fs.existsSync(loop.module));
  const envFor = (mode) => (mode === 'ledger' ? { ...process.env, LD_AUDIT: library.path, NAPI_HEAPDIFF_NATIVE_DIR: ledgerDir } : process.env);
  const modes = ['none', 'ledger'];
  const runs = Object.fromEntries(loops.map((l) => [l.key, { none: [], ledger: [] }]));
  const errors = [];
  const loadAtStart = loadAvg();
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const loop of loops) {
      for (const mode of modes) {
        log(`native section: ${loop.key} loop, ${mode}, rep ${rep}/${opts.reps}`);
        fs.rmSync(ledgerDir, { recursive: true, force: true });
        fs.mkdirSync(ledgerDir, { recursive: true });
        const r = await runLoop(loop, mode, loop.n, envFor(mode));
        // The ledger must have counted the loop, or the figure measures nothing.
        const counted = mode === 'none' || fs.readdirSync(ledgerDir).some((f) => /^native-\d+\.bin$/.test(f));
        if (r.ok && counted) runs[loop.key][mode].push(r);
        else errors.push(`${loop.key}/${mode}/rep${rep}: ${r.ok ? 'no ledger file written' : r.error}`);
      }
    }
  }
  fs.rmSync(ledgerDir, { recursive: true, force: true });
  const rows = [['loop', 'iterations', 'none: ms (µs/it)', 'ledger: ms (µs/it)', 'ledger ÷ none', 'ledger ÷ none, CPU', 'process ÷ none', 'ledger adds / it', 'goal', 'status']];
  const summary = {};
  for (const loop of loops) {
    const med = (mode, field) => (runs[loop.key][mode].length ? median(runs[loop.key][mode].map((r) => r[field])) : undefined);
    const ratio = (field) => (med('ledger', field) !== undefined && med('none', field) !== undefined ? med('ledger', field) / med('none', field) : undefined);
    const s = { label: loop.label, iterations: loop.n, medianMs: { none: med('none', 'loopMs'), ledger: med('ledger', 'loopMs') }, ledgerOverNone: ratio('loopMs'), ledgerOverNoneCpu: ratio('cpuMs'), processOverNone: ratio('wallMs'), goal: loop.goal };
    s.ledgerAddsNsPerIteration = s.medianMs.ledger !== undefined && s.medianMs.none !== undefined ? ((s.medianMs.ledger - s.medianMs.none) * 1e6) / loop.n : undefined;
    summary[loop.key] = s;
    const cell = (m) => (s.medianMs[m] === undefined ? 'FAIL' : `${s.medianMs[m].toFixed(0)} (${((s.medianMs[m] * 1000) / loop.n).toFixed(2)})`);
    const status = loop.goal === undefined ? '' : s.ledgerOverNone === undefined ? 'n/a' : s.ledgerOverNone <= loop.goal ? 'met' : `MISSED by ${fmtX(s.ledgerOverNone / loop.goal)}`;
    rows.push([loop.label, loop.n.toLocaleString('en'), cell('none'), cell('ledger'), fmtX(s.ledgerOverNone), fmtX(s.ledgerOverNoneCpu), fmtX(s.processOverNone),
      s.ledgerAddsNsPerIteration === undefined ? '–' : `${s.ledgerAddsNsPerIteration.toFixed(0)} ns`, loop.goal === undefined ? '(info)' : `≤ ${loop.goal}×`, status]);
  }
  const text = [head, `library: ${library.path}; loop time measured inside each child (start-up and module import excluded); process = the whole child, start-up and the ledger's file included`,
    table(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']),
    `1-minute load average: ${loadAtStart} at the start of the section, ${loadAvg()} at its end (${os.cpus().length} CPUs)`];
  if (errors.length) text.push(`failures: ${errors.join('; ')}`);
  return { summary, errors, text: text.join('\n') };
}

// ------------------------------------------------------------------ two-snapshot diff
/** A pair written by ONE process (gen.mjs <size> A B 5): A, then 5 % more records and B. */
async function ensurePair(targetMB) {
  const a = path.join(opts.out, `d${targetMB}a.heapsnapshot`);
  const b = path.join(opts.out, `d${targetMB}b.heapsnapshot`);
  const sidecar = path.join(opts.out, `d${targetMB}.pair.json`);
  const want = expectedBytes(targetMB);
  const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  let meta;
  try { meta = JSON.parse(fs.readFileSync(sidecar, 'utf8')); } catch { meta = undefined; }
  const plausible = size(a) >= want * 0.85 && size(a) <= want * 1.2 && size(b) > size(a) && meta?.bytes?.[0] === size(a) && meta?.bytes?.[1] === size(b);
  if (plausible) {
    log(`diff ${targetMB} MB: reusing ${path.relative(ROOT, a)} + ${path.basename(b)} (${(size(a) / MB).toFixed(1)} + ${(size(b) / MB).toFixed(1)} MB)`);
  } else {
    for (const f of [a, b, sidecar]) fs.rmSync(f, { force: true });
    log(`diff ${targetMB} MB: generating the pair with bench/gen.mjs ${targetMB} A B 5 (one process)`);
    const r = await runNode([...NODE_FLAGS, path.join(HERE, 'gen.mjs'), String(targetMB), a, b, '5'], { timeoutS: 1800 });
    if (r.exitCode !== 0 || !fs.existsSync(a) || !fs.existsSync(b)) {
      throw new Error(`generating the diff pair failed (exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}): ${r.stderrTail.slice(-500)}`);
    }
    let generated;
    try { generated = r.stdoutTail.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)); } catch { generated = undefined; }
    meta = { files: [path.relative(ROOT, a), path.relative(ROOT, b)], bytes: [size(a), size(b)], growPct: 5, generator: 'bench/gen.mjs', generated, counts: [headerCounts(a), headerCounts(b)] };
    fs.writeFileSync(sidecar, JSON.stringify(meta, null, 1));
    log(`diff ${targetMB} MB: generated in ${(r.elapsedMs / 1000).toFixed(1)} s, ${((r.timeRssKiB ?? 0) * 1024 / MB).toFixed(0)} MB peak RSS`);
  }
  if (!meta.counts) meta.counts = [headerCounts(a), headerCounts(b)];
  const tScan = Date.now();
  scanSections(a);
  scanSections(b); // page cache warm-up: every case reads from memory
  log(`diff ${targetMB} MB: cache warm-up ${Date.now() - tScan} ms`);
  return { a, b, meta };
}

const DIFF_LABELS = {
  load2: 'ours: loadSnapshot(A) + loadSnapshot(B)',
  analyze: 'ours: analyzeSnapshots([A, B]) (library)',
  cli: 'ours: napi-heapdiff diff A B --json (CLI, whole process)',
  'tk-diff': `heap-snapshot-toolkit ${pkgVersion('heap-snapshot-toolkit')} diffFromStreams(A, B)`,
};

async function runDiffCase(name, pair) {
  const tmp = path.join(opts.out, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const resultFile = path.join(tmp, `diff-${name}-${process.pid}.json`);
  fs.rmSync(resultFile, { force: true });
  let r;
  let res;
  if (name === 'cli') {
    // As a user runs it: the bin, no extra node flags; exit 1 only means "a leak was found".
    r = await runNode([path.join(ROOT, 'dist/cli/main.js'), 'diff', pair.a, pair.b, '--json', resultFile], { timeoutS: opts.timeout, treeRss: true });
    let json;
    try { json = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { json = undefined; }
    res = json && (r.exitCode === 0 || r.exitCode === 1)
      ? { ok: true, loadMs: r.elapsedMs, exitCode: r.exitCode, rows: (json.asyncContexts?.length ?? 0) + (json.references?.length ?? 0), note: 'wall time of the process: start-up, module loading, rendering and the JSON file included' }
      : { ok: false, error: r.timedOut ? `timeout after ${opts.timeout} s` : `exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}: ${r.stderrTail.split('\n').filter((l) => l.trim()).slice(-2).join(' | ')}` };
  } else {
    r = await runNode([...NODE_FLAGS, path.join(HERE, 'diff-case.mjs'), name, pair.a, pair.b, resultFile], { timeoutS: opts.timeout });
    try { res = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { res = undefined; }
    if (!res) res = { ok: false, error: r.timedOut ? `timeout after ${opts.timeout} s` : `child died (exit ${r.exitCode}${r.signal ? ', ' + r.signal : ''}): ${r.stderrTail.split('\n').filter((l) => l.trim()).slice(-2).join(' | ')}` };
  }
  fs.rmSync(resultFile, { force: true });
  // The CLI may run the analysis in a second process (huge pages): both count.
  const rssKiB = Math.max(r.timeRssKiB ?? res.maxRssKiB ?? 0, r.treePeakKiB ?? 0) || undefined;
  return { case: name, ...res, wallMs: r.elapsedMs, processes: r.treeMaxProcesses, peakRssMB: rssKiB === undefined ? undefined : (rssKiB * 1024) / MB };
}

async function diffSection() {
  const size = opts.diffSize;
  const head = `== two-snapshot diff: a ${size} MB pair written by one process (A, then +5 % records, B); each case in its own process, median of ${opts.diffReps}, interleaved ==`;
  if (opts.diffCases.some((c) => c !== 'tk-diff')) {
    const missing = ['dist/snapshot/load.js', 'dist/analysis/analyze.js', 'dist/cli/main.js'].filter((f) => !fs.existsSync(path.join(ROOT, f)));
    if (missing.length) {
      const msg = `SKIPPED: missing ${missing.join(', ')} (run npx tsc -p .)`;
      return { skipped: msg, text: `${head}\n${msg}` };
    }
  }
  const pair = await ensurePair(size);
  const runs = Object.fromEntries(opts.diffCases.map((c) => [c, []]));
  const loadAtStart = loadAvg();
  for (let rep = 1; rep <= opts.diffReps; rep++) {
    for (const c of opts.diffCases) {
      log(`diff ${size} MB: ${c}, rep ${rep}/${opts.diffReps} ...`);
      const r = await runDiffCase(c, pair);
      runs[c].push(r);
      log(`diff ${size} MB: ${c}: ${r.ok ? `${fmtS(r.loadMs)} s` : `FAIL (${r.error})`}, peak RSS ${r.peakRssMB?.toFixed(0) ?? '?'} MB`);
    }
  }
  const bytesA = pair.meta.bytes[0];
  const bytesB = pair.meta.bytes[1];
  const med = {};
  const rows = [['case', 'time (s), median', 'runs (s)', 'peak RSS (MB), max', 'RSS ÷ B file', '÷ load of both']];
  const ok = (c) => (runs[c] ?? []).filter((r) => r.ok);
  for (const c of opts.diffCases) {
    const good = ok(c);
    if (good.length) med[c] = median(good.map((r) => r.loadMs));
  }
  const summary = {};
  for (const c of opts.diffCases) {
    const good = ok(c);
    const rss = good.map((r) => r.peakRssMB).filter((x) => x !== undefined);
    const peak = rss.length ? Math.max(...rss) : undefined;
    const overLoad = med[c] !== undefined && med.load2 !== undefined ? med[c] / med.load2 : undefined;
    summary[c] = { label: DIFF_LABELS[c], medianMs: med[c], runsMs: runs[c].map((r) => (r.ok ? r.loadMs : null)), peakRssMB: peak, rssOverB: peak === undefined ? undefined : (peak * MB) / bytesB, overLoadBoth: overLoad, errors: runs[c].filter((r) => !r.ok).map((r) => r.error), phases: good.map((r) => r.phases).filter(Boolean) };
    rows.push([DIFF_LABELS[c], med[c] === undefined ? 'FAIL' : fmtS(med[c]), runs[c].map((r) => (r.ok ? fmtS(r.loadMs) : 'FAIL')).join(', '), peak === undefined ? '?' : peak.toFixed(0),
      fmtX(summary[c].rssOverB), c === 'load2' ? '1.00× (denominator)' : fmtX(overLoad)]);
  }
  const out = [head, `A: ${pair.meta.files[0]} ${(bytesA / MB).toFixed(1)} MB, ${(pair.meta.counts[0].nodeCount / 1e6).toFixed(2)}M nodes; B: ${pair.meta.files[1]} ${(bytesB / MB).toFixed(1)} MB, ${(pair.meta.counts[1].nodeCount / 1e6).toFixed(2)}M nodes`];
  out.push(table(rows, ['l', 'r', 'l', 'r', 'r', 'r']));
  out.push('');
  const rr = [['ratio (same run)', 'value', 'goal', 'status']];
  const miss = (v, c) => `by ${fmtX(v / GOALS.diffOverLoad)}: must drop from ${fmtS(med[c])} s to < ${fmtS(med.load2 * GOALS.diffOverLoad)} s`;
  if (summary.cli?.overLoadBoth !== undefined) rr.push(goalRow('diff (CLI, whole process) ÷ load of both', summary.cli.overLoadBoth, GOALS.diffOverLoad, '<=', miss(summary.cli.overLoadBoth, 'cli')));
  const larger = Math.max(bytesA, bytesB);
  for (const c of ['cli', 'analyze']) {
    const peak = summary[c]?.peakRssMB;
    if (peak === undefined) continue;
    const v = (summary[c].rssOverLarger = (peak * MB) / larger);
    rr.push(goalRow(`diff (${c === 'cli' ? 'CLI, whole process' : 'library'}) peak RSS ÷ the larger file`, v, GOALS.diffRssOverFile, '<=', `by ${fmtX(v / GOALS.diffRssOverFile)}: ${peak.toFixed(0)} MB against ≤ ${((GOALS.diffRssOverFile * larger) / MB).toFixed(0)} MB`));
  }
  if (summary.analyze?.overLoadBoth !== undefined) rr.push(goalRow('diff (library analyzeSnapshots) ÷ load of both', summary.analyze.overLoadBoth, GOALS.diffOverLoad, '<=', miss(summary.analyze.overLoadBoth, 'analyze')));
  if (med['tk-diff'] !== undefined && med.cli !== undefined) rr.push(goalRow('toolkit diffFromStreams ÷ ours (CLI)', (summary.tkOverCli = med['tk-diff'] / med.cli)));
  if (med['tk-diff'] !== undefined && med.analyze !== undefined) rr.push(goalRow('toolkit diffFromStreams ÷ ours (library)', (summary.tkOverAnalyze = med['tk-diff'] / med.analyze)));
  if (rr.length > 1) out.push(table(rr, ['l', 'r', 'l', 'l']));
  out.push('');
  out.push('phases (ms, first successful run):');
  for (const c of opts.diffCases) {
    const r = ok(c)[0];
    if (r?.phases) out.push(`  ${c}: ${Object.entries(r.phases).map(([k, v]) => `${k} ${v}`).join(', ')}${r.gcMs !== undefined ? `; GC ${r.gcMs} ms in ${r.gcCount} pauses` : ''}`);
    else if (r?.note) out.push(`  ${c}: ${r.note}; exit ${r.exitCode}`);
    for (const e of summary[c].errors) out.push(`  ${c}: FAIL ${e}`);
  }
  out.push('peak RSS = /usr/bin/time -v of each child (max over runs; for the CLI, the summed RSS of its node processes when it starts a second one for huge pages); the CLI runs without --max-old-space-size, the others with it');
  out.push('the snapshots are analysed one at a time: each is loaded, its census taken and its arrays dropped before the next (dominators only for the last), so memory is bounded by the larger snapshot, not by both');
  out.push(`1-minute load average: ${loadAtStart} at the start of the section, ${loadAvg()} at its end (${os.cpus().length} CPUs)`);
  return { pair: pair.meta, summary, loadAverage: [Number(loadAtStart), Number(loadAvg())], text: out.join('\n') };
}

// ------------------------------------------------------------------ main
function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, srcDirty: dirty };
  } catch { return {}; }
}

function checkDist() {
  const needed = ['dist/snapshot/load.js', 'dist/graph/heap-graph.js'];
  const missing = needed.filter((f) => !fs.existsSync(path.join(ROOT, f)));
  if (missing.length) return `missing ${missing.join(', ')}: run npx tsc -p . (npm run bench does it)`;
  const stale = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const js = path.join(ROOT, 'dist', path.relative(path.join(ROOT, 'src'), p)).replace(/\.ts$/, '.js');
        if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(p).mtimeMs) stale.push(path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  if (stale.length) log(`warning: dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ` and ${stale.length - 5} more` : ''} (run npx tsc -p .)`);
  return undefined;
}

async function main() {
  fs.mkdirSync(opts.out, { recursive: true });
  const env = {
    date: new Date().toISOString(), node: process.version, platform: `${os.type()} ${os.release()}`,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`, totalMemGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    nodeFlags: NODE_FLAGS, timeoutS: opts.timeout, rssSource: TIME_BIN ? '/usr/bin/time -v (Maximum resident set size of the child)' : 'process.resourceUsage().maxRSS in the child',
    versions: Object.fromEntries(['heap-snapshot-toolkit', 'chrome-devtools-mcp', '@vscode/v8-heap-parser', 'heapsnapshot-parser'].map((n) => [n, pkgVersion(n)])),
    ...gitInfo(),
  };
  log(`napi-heapdiff bench: node ${env.node}, ${env.cpus}, ${env.totalMemGB} GiB; sizes ${opts.sizes.join(', ')} MB; cases ${opts.cases.join(', ')}`);
  const results = { env, goals: GOALS, sizes: [], agent: undefined, diff: undefined };
  process.stdout.write(`napi-heapdiff bench — commit ${env.commit ?? '?'}${env.srcDirty ? ' + uncommitted src/ changes' : ''}, node ${env.node}, ${env.cpus}, ${env.totalMemGB} GiB; ${env.date}; 1-minute load average ${loadAvg()}\n`);
  const texts = [];
  if (opts.loads) {
    const distProblem = checkDist();
    if (distProblem && opts.cases.some((c) => c.startsWith('ours'))) fail(distProblem);
    for (const size of opts.sizes) {
      const snap = await ensureSnapshot(size);
      // Interleaved repetitions: this machine's speed drifts by ±15 % within a minute, and a ratio of
      // two single runs taken seconds apart carries both drifts.
      const reps = opts.loadReps ?? (snap.meta.bytes < 1e9 ? 3 : 1);
      const runs = new Map(CASES.filter((c) => opts.cases.includes(c)).map((c) => [c, []]));
      for (let rep = 1; rep <= reps; rep++) {
        for (const [c, done] of runs) {
          if (done.some((r) => !r.ok)) continue;
          if (reps > 1) log(`${size} MB: run ${rep}/${reps}`);
          done.push(await runCase(c, snap, size));
        }
      }
      const rows = [...runs.values()].map((done) => medianRun(done, snap));
      const { text, ratios } = report(size, snap, rows);
      process.stdout.write(`\n${text}\n`);
      texts.push(text);
      results.sizes.push({ targetMB: size, file: snap.meta.file, bytes: snap.meta.bytes, nodeCount: snap.meta.nodeCount, edgeCount: snap.meta.edgeCount, sections: snap.meta.sections, generator: snap.meta.generator, cases: rows, ratios });
    }
    if (results.sizes.length > 1) {
      const text = scalingReport(results.sizes);
      process.stdout.write(`\n${text}\n`);
    }
    if (opts.sizes.some(streamed)) {
      const check = await generatorCheck();
      process.stdout.write(`\n${check.text}\n`);
      results.generatorCheck = check;
    }
  }
  if (opts.agent) {
    const a = await agentSection();
    process.stdout.write(`\n${a.text}\n`);
    results.agent = a;
  }
  if (opts.native) {
    const n = await nativeLedgerSection();
    process.stdout.write(`\n${n.text}\n`);
    results.nativeLedger = n;
  }
  if (opts.diff) {
    const d = await diffSection();
    process.stdout.write(`\n${d.text}\n`);
    results.diff = d;
  }
  const d = new Date();
  const p2 = (x) => String(x).padStart(2, '0');
  const name = `results-${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}.json`;
  const jsonFile = path.join(opts.out, name);
  fs.writeFileSync(jsonFile, JSON.stringify(results, null, 1) + '\n');
  fs.rmSync(path.join(opts.out, 'tmp'), { recursive: true, force: true });
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), jsonFile)} (total ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

main().catch((e) => { console.error(`bench: ${e?.stack ?? e}`); process.exit(1); });
