import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNode } from '../../scripts/node-binaries.mjs';
import { repoRoot } from '../helpers/run-cli.js';

// The package as a user gets it: `npm pack`, installed into an empty project
// that has only its own addon (built there with node-gyp) and no access to
// this repository's files. The README's quick start is run line by line
// there, then the library from ESM, CommonJS and TypeScript, the test-runner
// entry point under vitest and node:test, and the lowest Node it claims.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-packed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const project = join(scratch, 'my-addon');
const repoRequire = createRequire(join(repoRoot, 'package.json'));
const version = (name: string) => (repoRequire(`${name}/package.json`) as { version: string }).version;

/** Offline where the npm cache can answer (the dependencies were installed here before), quiet otherwise. */
const NPM_ENV = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', NO_COLOR: '1' };

function sh(command: string, options: SpawnSyncOptions = {}) {
  const r = spawnSync('sh', ['-c', command], { cwd: project, encoding: 'utf8', timeout: 300_000, ...options, env: { ...process.env, ...NPM_ENV, ...options.env } });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The fenced blocks of README's "Quick start for your addon" section, in order. */
function quickStart(): Array<{ lang: string; body: string }> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start for your addon'), readme.indexOf('\n## ', readme.indexOf('## Quick start for your addon') + 5));
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}
const commands = (body: string) => body.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);

let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> };
const blocks = quickStart();
const [install, capture] = blocks.filter((b) => b.lang === 'sh');
const [vitestExample, nodeTestExample] = blocks.filter((b) => b.lang === 'js');

beforeAll(() => {
  // dist/ was built by `npm test`; packing must not rebuild it under the other test files' feet.
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: repoRoot, encoding: 'utf8' });
  expect(pack.status, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout) as [typeof packed];
  tarball = join(scratch, (packed as unknown as { filename: string }).filename);
  // A user's addon project: package.json, binding.gyp and the C source, nothing else.
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'my-addon', version: '1.0.0', private: true, main: 'build/Release/my_addon.node' }, null, 2)}\n`);
  writeFileSync(join(project, 'binding.gyp'), `${JSON.stringify({ targets: [{ target_name: 'my_addon', sources: ['addon.c'] }] }, null, 2)}\n`);
  copyFileSync(join(repoRoot, 'test', 'package', 'user-addon.c'), join(project, 'addon.c'));
  // The user's addon is built, as theirs is before they look for leaks (node-gyp offline, against nodedir's headers).
  const built = spawnSync(process.execPath, [repoRequire.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--nodedir=${process.env.npm_config_nodedir || '/usr'}`], { cwd: project, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
}, 180_000);

describe('the packed package, in a project of its own', () => {
  it('ships dist/ and the C sources, no source maps, no tests or fixtures', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    expect(paths.filter((p) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(p))).toEqual([]);
    expect(paths).toContain('dist/native/napi-ledger-audit.c');
    expect(paths).toContain('dist/agent/agent.cjs');
    process.stdout.write(`packed: ${packed.entryCount} files, ${packed.size} bytes (${packed.unpackedSize} unpacked)\n`);
  });

  it('README quick start, line by line: install, init, capture finds the leak (exit 1) and passes the fixed call (exit 0)', () => {
    expect(commands(install!.body)).toEqual(['npm install --save-dev napi-heapdiff', 'npx napi-heapdiff init']);
    const [npmInstall, init] = commands(install!.body);
    // The one liberty taken: the package comes from the tarball, not the registry.
    const installed = sh(npmInstall!.replace(/napi-heapdiff$/, tarball));
    expect(installed.code, installed.stderr).toBe(0);
    const inited = sh(init!);
    expect(inited.code, inited.stderr).toBe(0);
    expect(inited.stdout).toContain('wrote napi-leak-check.mjs (loads ./build/Release/my_addon.node)');
    const scenario = join(project, 'napi-leak-check.mjs');
    const template = readFileSync(scenario, 'utf8');
    // "replace the marked line with a call into your addon"
    const marked = /^ {2}if \(i === 0\) console\.log\(.*\n/m;
    expect(template).toMatch(marked);

    writeFileSync(scenario, template.replace(marked, '  addon.leak();\n'));
    const [run] = commands(capture!.body);
    const leak = sh(run!);
    expect(leak.code, leak.stderr).toBe(1);
    expect(leak.stdout).toMatch(/│ my_addon_operation +│ 10 → 210 → 410 /);
    expect(leak.stdout).toContain('my_addon_operation: missing destroy — fix: pair every napi_async_init with napi_async_destroy');
    // node-gyp's Release build has no debug info and inlines open_context into Leak: the site is Leak's symbol and offset.
    expect(leak.stdout).toMatch(/evidence: native ledger: napi_async_init "my_addon_operation" at Leak\+0x[0-9a-f]+ \(my_addon\.node\+0x[0-9a-f]+\) left 400 more open/);
    expect(leak.stdout).toMatch(/\nLEAK: my_addon_operation \+400 \(1\.00\/iteration\)\n$/);

    writeFileSync(scenario, template.replace(marked, '  addon.ok();\n'));
    const ok = sh(run!);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/\nno leak: no group grew at every step\n$/);
  });

  it('the test-runner entry point, as README shows it: vitest and node:test pass on the fixed call and fail naming the leak', () => {
    const added = sh(`npm install --save-dev vitest@${version('vitest')} typescript@${version('typescript')} @types/node@${version('@types/node')}`);
    expect(added.code, added.stderr).toBe(0);
    writeFileSync(join(project, 'vitest.test.mjs'), vitestExample!.body.replace('../napi-leak-check.mjs', './napi-leak-check.mjs'));
    writeFileSync(join(project, 'node-test.test.mjs'), nodeTestExample!.body.replace('../napi-leak-check.mjs', './napi-leak-check.mjs'));
    const scenario = join(project, 'napi-leak-check.mjs');
    const fixed = readFileSync(scenario, 'utf8');
    expect(fixed).toContain('  addon.ok();\n');
    expect(sh('npx vitest run vitest.test.mjs').code).toBe(0);
    expect(sh('node --test node-test.test.mjs').code).toBe(0);

    writeFileSync(scenario, fixed.replace('  addon.ok();\n', '  addon.leak();\n'));
    const vitest = sh('npx vitest run vitest.test.mjs');
    expect(vitest.code).toBe(1);
    expect(vitest.stdout + vitest.stderr).toContain('NapiLeakError: 1 Node-API leak (napi-heapdiff):');
    expect(vitest.stdout + vitest.stderr).toMatch(/- my_addon_operation: live 10 → 210 → 410 \(1\.00\/iteration\)/);
    expect(vitest.stdout + vitest.stderr).toContain('kind: missing destroy — fix: pair every napi_async_init with napi_async_destroy');
    const nodeTest = sh('node --test node-test.test.mjs');
    expect(nodeTest.code).toBe(1);
    expect(nodeTest.stdout).toContain('- my_addon_operation: live 10 → 210 → 410 (1.00/iteration)');
    writeFileSync(scenario, fixed);
  });

  it('the library from ESM, CommonJS and TypeScript (nodenext)', () => {
    const esm = sh(`node --input-type=module -e "import { analyzeSnapshots, expectNoNapiLeaks, NapiLeakError } from 'napi-heapdiff'; console.log(typeof analyzeSnapshots, typeof expectNoNapiLeaks, typeof NapiLeakError)"`);
    expect([esm.code, esm.stdout]).toEqual([0, 'function function function\n']);
    const cjs = sh(`node -e "const m = require('napi-heapdiff'); console.log(typeof m.analyzeSnapshots, typeof m.captureScenario)"`);
    expect([cjs.code, cjs.stdout]).toEqual([0, 'function function\n']);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] }, files: ['check.mts'] }));
    writeFileSync(join(project, 'check.mts'), [
      "import { analyzeSnapshots, expectNoNapiLeaks, resolveSnapshotInputs, type AnalysisResult, type NoLeakOptions } from 'napi-heapdiff';",
      "const options: NoLeakOptions = { scenario: new URL('./napi-leak-check.mjs', import.meta.url), iterations: 10 };",
      'const checked: Promise<AnalysisResult> = expectNoNapiLeaks(options);',
      "const diffed: Promise<AnalysisResult> = analyzeSnapshots(resolveSnapshotInputs(['a.heapsnapshot', 'b.heapsnapshot']));",
      'export { checked, diffed };',
      '',
    ].join('\n'));
    const tsc = sh('npx tsc -p tsconfig.json');
    expect([tsc.code, tsc.stdout]).toEqual([0, '']);
  });

  it('runs on the lowest Node it claims (engines), 20.19.0: --help, and require() from CommonJS', () => {
    const engines = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('>=20.19.0');
    const node = ensureNode('20.19.0');
    const help = sh(`'${node}' node_modules/napi-heapdiff/dist/cli/main.js --help`);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: napi-heapdiff [options] [command]');
    const cjs = sh(`'${node}' -e "console.log(typeof require('napi-heapdiff').expectNoNapiLeaks)"`);
    expect([cjs.code, cjs.stdout]).toEqual([0, 'function\n']);
  });
});
