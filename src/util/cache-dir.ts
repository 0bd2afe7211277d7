import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-user cache of napi-heapdiff: `$NAPI_HEAPDIFF_CACHE`, else
 * `$XDG_CACHE_HOME/napi-heapdiff`, else `~/.cache/napi-heapdiff`. Native
 * helpers compiled on first use live here (the Node binaries of the test
 * matrix too, see scripts/node-binaries.mjs).
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NAPI_HEAPDIFF_CACHE) return env.NAPI_HEAPDIFF_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'napi-heapdiff');
}
