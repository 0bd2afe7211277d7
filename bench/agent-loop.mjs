// One agent-overhead loop in its own process. Started by bench/run.mjs with nothing preloaded,
// with `--require bench/noop-hook.cjs` (the floor) or with `--require dist/agent/agent.cjs`:
//   node [--require AGENT] bench/agent-loop.mjs fixture <module.mjs> <N> <result.json>
//   node [--require AGENT] bench/agent-loop.mjs promise - <N> <result.json>
// fixture: imports the module (a native fixture's correct twin) and calls iteration(i) N times,
//          awaiting it when it returns a promise.
// promise: N rounds of `await Promise.resolve(i)` through two small async functions.
// loopMs is the loop alone (module import and process start-up excluded); cpuMs is the process's
// user + system CPU time over the same span (all threads: the libuv pool and GC helpers included).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [kind, modulePath, nArg, resultFile] = process.argv.slice(2);
const n = Number(nArg);

async function add(a, b) { return a + b; }
async function step(i) {
  const v = await Promise.resolve(i);
  return add(v, 1);
}

async function main() {
  const startupMs = performance.now(); // process start until here, agent --require included
  let loopMs;
  let check = 0;
  let cpu;
  if (kind === 'fixture') {
    const mod = await import(pathToFileURL(modulePath).href);
    if (typeof mod.iteration !== 'function') throw new Error(`${modulePath} exports no iteration(i)`);
    cpu = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const r = mod.iteration(i);
      if (r && typeof r.then === 'function') await r;
    }
    loopMs = performance.now() - t;
    cpu = process.cpuUsage(cpu);
  } else if (kind === 'promise') {
    cpu = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < n; i++) check += await step(i);
    loopMs = performance.now() - t;
    cpu = process.cpuUsage(cpu);
  } else {
    throw new Error(`unknown loop "${kind}"`);
  }
  return { loopMs, cpuMs: (cpu.user + cpu.system) / 1000, startupMs, check };
}

main()
  .then((r) => ({ ok: true, ...r }), (e) => ({ ok: false, error: String(e?.message ?? e).slice(0, 600) }))
  .then((r) => {
    r.maxRssKiB = process.resourceUsage().maxRSS;
    fs.writeFileSync(resultFile, JSON.stringify(r));
    // Exit explicitly: an agent or fixture may keep handles open.
    process.exit(r.ok ? 0 : 1);
  });
