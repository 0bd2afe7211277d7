import { compileNativeHelper } from '../native/compile.js';
import { ENV_NATIVE_DIR } from './protocol.js';

/**
 * What a captured process needs for the native call-site ledger: the audit
 * library compiled (on first use, into the per-user cache) and named in
 * LD_AUDIT (appended to a list the caller already had), and the capture
 * folder it writes native-<pid>.bin into. Every process of the capture's
 * tree inherits both; those that never bind a Node-API function (a shell,
 * npm) write nothing and run as before. When the library cannot be built or
 * used here, the env is unchanged and `unavailable` says why in one line.
 */
export function nativeLedgerEnv(outDir: string, env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; unavailable?: string } {
  const library = compileNativeHelper('napi-ledger-audit', env);
  if (!library.path) return { env, unavailable: library.unavailable };
  const existing = (env.LD_AUDIT ?? '').split(':').filter((path) => path && path !== library.path);
  return { env: { ...env, LD_AUDIT: [...existing, library.path].join(':'), [ENV_NATIVE_DIR]: outDir } };
}
