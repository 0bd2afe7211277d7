import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { REGISTRY_MARKER } from '../capture/protocol.js';
import { ENV_CAPTURE_DIR } from '../capture/protocol.js';
import type { InspectorClient } from './inspector-client.js';
import type { AgentStatus } from '../capture-folder/manifest.js';

/**
 * The agent inside an attached process, driven over the DevTools protocol:
 * found when it was preloaded, or installed by evaluating its CommonJS source
 * (`--inject-agent`), and its settle() used before each snapshot.
 *
 * Nothing is added to the target's globals: the installed agent and its hook
 * are held only by an inspector remote object (object group
 * OBJECT_GROUP), released when the attach ends.
 */

/** Inspector object group of everything attach holds in the target. */
export const OBJECT_GROUP = 'napi-heapdiff-attach';
/** The injected script's URL: its frames in creation stacks carry it, and the agent filters them out. */
export const INJECTED_AGENT_URL = 'napi-heapdiff-agent-injected.cjs';

/**
 * `require` for node: modules inside Runtime.evaluate, on Node 20+ with a CJS
 * or an ESM entry point: the inspector console's own `require` (Node installs
 * it in the command-line API: includeCommandLineAPI), else
 * process.getBuiltinModule (Node ≥ 20.16), else the CJS main module's.
 */
const LOAD = `(typeof require === 'function' ? require
    : typeof process.getBuiltinModule === 'function' ? (id) => process.getBuiltinModule(id)
    : process.mainModule ? (id) => process.mainModule.require(id)
    : undefined)`;

/** Evaluates to { agent, installed: false } for a preloaded agent (in the CommonJS module cache), or undefined. */
const FIND_PRELOADED = `(() => {
  const load = ${LOAD};
  if (!load) return undefined;
  let cache;
  try { cache = load('node:module')._cache; } catch { return undefined; }
  for (const key of Object.keys(cache || {})) {
    const exports = cache[key] && cache[key].exports;
    if (exports && exports.REGISTRY_MARKER === ${JSON.stringify(REGISTRY_MARKER)} && typeof exports.settle === 'function') return { agent: exports, path: key, installed: false };
  }
  return undefined;
})()`;

/**
 * The agent's compiled CommonJS source wrapped as a function of (exports,
 * require, module, __filename, __dirname), like Node's module wrapper, with a
 * `require` that hands out node: modules and records the async hook the agent
 * creates, so that it can be disabled when the attach ends. The agent's
 * command-capture mode (NAPI_HEAPDIFF_CAPTURE_DIR) is kept off.
 */
export function injectionScript(agentSource: string): string {
  const body = agentSource.replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return `(() => {
  'use strict';
  const load = ${LOAD};
  if (!load) throw new Error('no way to load node: modules in this process');
  const asyncHooks = load('node:async_hooks');
  const hooks = [];
  const hooked = Object.assign({}, asyncHooks, {
    createHook(callbacks) {
      const hook = asyncHooks.createHook(callbacks);
      hooks.push(hook);
      return hook;
    },
  });
  const agentRequire = (id) => (id === 'node:async_hooks' || id === 'async_hooks' ? hooked : load(id));
  const module = { exports: {} };
  // The agent starts command-capture mode when this variable is set; an injected agent never does.
  const env = process.env;
  const saved = Object.prototype.hasOwnProperty.call(env, ${JSON.stringify(ENV_CAPTURE_DIR)}) ? env[${JSON.stringify(ENV_CAPTURE_DIR)}] : undefined;
  if (saved !== undefined) delete env[${JSON.stringify(ENV_CAPTURE_DIR)}];
  try {
    (function (exports, require, module, __filename, __dirname) {
${body}
    }).call(module.exports, module.exports, agentRequire, module, ${JSON.stringify(INJECTED_AGENT_URL)}, '.');
  } finally {
    if (saved !== undefined) env[${JSON.stringify(ENV_CAPTURE_DIR)}] = saved;
  }
  return {
    agent: module.exports,
    installed: true,
    uninstall() {
      for (const hook of hooks) hook.disable();
      hooks.length = 0;
    },
  };
})()
//# sourceURL=${INJECTED_AGENT_URL}
`;
}

interface RemoteObject {
  type: string;
  subtype?: string;
  objectId?: string;
  value?: unknown;
  description?: string;
}

interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: { text?: string; exception?: RemoteObject };
}

/** Runtime.evaluate with the console's command-line API (which has `require` in Node). */
export async function evaluate(client: InspectorClient, expression: string, options: { returnByValue?: boolean; timeoutMs?: number } = {}): Promise<RemoteObject> {
  const reply = await client.send<EvaluateResult>(
    'Runtime.evaluate',
    { expression, includeCommandLineAPI: true, returnByValue: options.returnByValue ?? false, objectGroup: OBJECT_GROUP, silent: true },
    { timeoutMs: options.timeoutMs },
  );
  if (reply.exceptionDetails) throw new Error(`in the target: ${exceptionText(reply.exceptionDetails)}`);
  return reply.result;
}

async function callOn(client: InspectorClient, objectId: string, functionDeclaration: string, options: { returnByValue?: boolean; timeoutMs?: number } = {}): Promise<RemoteObject> {
  const reply = await client.send<EvaluateResult>(
    'Runtime.callFunctionOn',
    { objectId, functionDeclaration, returnByValue: options.returnByValue ?? true, objectGroup: OBJECT_GROUP, silent: true },
    { timeoutMs: options.timeoutMs },
  );
  if (reply.exceptionDetails) throw new Error(`in the target: ${exceptionText(reply.exceptionDetails)}`);
  return reply.result;
}

function exceptionText(details: NonNullable<EvaluateResult['exceptionDetails']>): string {
  return (details.exception?.description ?? details.text ?? 'exception').split('\n')[0]!;
}


/** A handle on the agent in the target (objectId of { agent, installed, uninstall? }). */
export interface RemoteAgent {
  status: Exclude<AgentStatus, 'none'>;
  objectId: string;
}

/** The agent the target preloaded (node --require napi-heapdiff/agent), if any. */
export async function findPreloadedAgent(client: InspectorClient, timeoutMs: number): Promise<RemoteAgent | undefined> {
  const found = await evaluate(client, FIND_PRELOADED, { timeoutMs });
  return found.type === 'object' && found.objectId ? { status: 'preloaded', objectId: found.objectId } : undefined;
}

/** Installs the agent (compiled CommonJS at `agentPath`) in the target. */
export async function injectAgent(client: InspectorClient, agentPath: string, timeoutMs: number): Promise<RemoteAgent> {
  const installed = await evaluate(client, injectionScript(readFileSync(agentPath, 'utf8')), { timeoutMs });
  if (installed.type !== 'object' || !installed.objectId) throw new Error('the agent did not install in the target');
  return { status: 'injected', objectId: installed.objectId };
}

/** Disables the hook of an injected agent: its registry becomes garbage, the target runs as before. */
export async function uninstallAgent(client: InspectorClient, agent: RemoteAgent, timeoutMs: number): Promise<void> {
  if (agent.status !== 'injected') return;
  await callOn(client, agent.objectId, 'function () { this.uninstall(); }', { timeoutMs });
}

/**
 * Lets queued async_hooks destroys run before a snapshot (Node delivers them
 * in batches from an immediate): the agent's settle() when there is an
 * agent, else three event-loop turns (setImmediate). Resolves false when the
 * target's loop did not get there within `timeoutMs`.
 */
export function settleTarget(client: InspectorClient, agent: RemoteAgent | undefined, timeoutMs: number): Promise<boolean> {
  return agent
    ? waitForTarget(client, () => callOn(client, agent.objectId, 'function () { const state = { done: false }; this.agent.settle(() => { state.done = true; }); return state; }', { returnByValue: false }), timeoutMs)
    : eventLoopTurns(client, 3, timeoutMs);
}

/** Waits for `turns` event-loop turns of the target (a setImmediate chain); false after `timeoutMs`. */
export function eventLoopTurns(client: InspectorClient, turns: number, timeoutMs: number): Promise<boolean> {
  let callback = '() => { state.done = true; }';
  for (let i = 1; i < turns; i++) callback = `() => setImmediate(${callback})`;
  return waitForTarget(client, () => evaluate(client, `(() => { const state = { done: false }; setImmediate(${callback}); return state; })()`), timeoutMs);
}

/**
 * Starts something in the target that sets `done` on a state object when it
 * is over, then polls that flag. No promise is involved: in a process where
 * promise jobs no longer drain (a leaked callback scope) an awaited promise
 * would never settle, and each one left pending would stay in the heap, held
 * by the inspector, looking like a leak in the next snapshots.
 */
async function waitForTarget(client: InspectorClient, start: () => Promise<RemoteObject>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const state = await start();
  if (!state.objectId) throw new Error('the target returned no state object');
  try {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const done = await callOn(client, state.objectId, 'function () { return this.done === true; }', { timeoutMs: Math.max(1_000, timeoutMs) });
      if (done.value === true) return true;
      if (Date.now() >= deadline) return false;
      await sleep(delay);
    }
  } finally {
    await client.send('Runtime.releaseObject', { objectId: state.objectId }).catch(() => undefined);
  }
}

/** pid, argv and Node.js of the target, read in one call. */
export interface TargetInfo {
  pid: number;
  argv: string[];
  execArgv: string[];
  version: string;
  execPath: string;
  uptimeMs: number;
}

export async function targetInfo(client: InspectorClient, timeoutMs: number): Promise<TargetInfo> {
  const info = await evaluate(client, '({ pid: process.pid, argv: process.argv, execArgv: process.execArgv, version: process.version, execPath: process.execPath, uptimeMs: Math.round(process.uptime() * 1000) })', { returnByValue: true, timeoutMs });
  const value = info.value as TargetInfo | undefined;
  if (!value || typeof value.pid !== 'number') throw new Error('the target did not say which process it is');
  return value;
}

/**
 * Closes the target's inspector (inspector.close()). The call ends this very
 * connection, so its answer never comes: resolves once the socket is closed.
 */
export async function closeTargetInspector(client: InspectorClient, timeoutMs: number): Promise<void> {
  client.post('Runtime.evaluate', {
    expression: `(${LOAD})('node:inspector').close()`,
    includeCommandLineAPI: true,
    silent: true,
  });
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([client.closed, timer]);
}
