import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The addon a scenario in `folder` should load: the first `.node` file in
 * build/Release (node-gyp), else one named by binding.gyp's first target,
 * else a placeholder the comments tell the user to replace.
 */
export function guessAddonPath(folder: string): string {
  const release = join(folder, 'build', 'Release');
  if (existsSync(release)) {
    const built = readdirSync(release).filter((file) => file.endsWith('.node')).sort();
    if (built[0]) return `./${relative(folder, join(release, built[0]))}`;
  }
  try {
    const target = /["']target_name["']\s*:\s*["']([^"']+)["']/.exec(readFileSync(join(folder, 'binding.gyp'), 'utf8'))?.[1];
    if (target) return `./build/Release/${target}.node`;
  } catch {
    // no binding.gyp: the placeholder below
  }
  return './build/Release/addon.node';
}

/**
 * A scenario module to start from: loads the addon, calls it once per
 * iteration the way its users do, and says in comments what each export is
 * for. `napi-heapdiff capture --scenario` and `expectNoNapiLeaks` run it.
 */
export function scenarioTemplate(addonPath: string): string {
  return `// A napi-heapdiff scenario: the child process imports this module, runs
// setup(), then iteration(i) over and over, and writes a heap snapshot
// (plus the native call-site ledger) between batches of iterations. Anything
// that grows by the same amount in every batch is a leak, named by the
// async-context name your addon gives napi_async_init (or by the native
// function that acquired it).
//
//   npx napi-heapdiff capture --scenario <this file> --iterations 200 --snapshots 3 --out .napi-heapdiff
//
// Exit code: 0 nothing leaks, 1 a leak was found, 2 the scenario could not run.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Your addon, as your users load it (require('bindings')('addon'), a package name, or the .node file).
const addon = require(${JSON.stringify(addonPath)});

// Optional: runs once before the first iteration (open files, create servers, warm caches).
export async function setup() {}

// One unit of work, the way your users call the addon. May return a promise
// (it is awaited). Call each function whose native side acquires something:
// async work, threadsafe functions, napi_async_init, references, wrapped objects.
export async function iteration(i) {
  // Replace this line with a call into your addon, e.g. await addon.compress(buffer):
  if (i === 0) console.log('napi-heapdiff scenario: exports of the addon:', Object.keys(addon).join(', '));
}

// Optional: runs once after the last snapshot.
export async function teardown() {}
`;
}
