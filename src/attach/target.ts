import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AttachInputError } from './errors.js';
import type { LoopbackHost } from '../capture-folder/manifest.js';

/** Node's default inspector port (also what SIGUSR1 opens unless --inspect-port says otherwise). */
export const DEFAULT_INSPECTOR_PORT = 9229;

/** Where a target's inspector answers, and whether this attach opened it. */
export interface InspectorEndpoint {
  host: LoopbackHost;
  port: number;
  /** True when the inspector was closed before and this attach opened it (SIGUSR1): it must close it again. */
  openedByUs: boolean;
}

/** One entry of the inspector's /json/list. */
export interface InspectorTarget {
  id: string;
  type?: string;
  title?: string;
  url?: string;
  webSocketDebuggerUrl?: string;
}

/** "127.0.0.1" and "::1" (also "[::1]"); any other host is refused. */
export function loopbackHost(host: string): LoopbackHost {
  const h = host.trim();
  if (h === '127.0.0.1') return '127.0.0.1';
  if (h === '::1' || h === '[::1]') return '::1';
  throw new AttachInputError(`refusing to connect to ${host}: attach connects to 127.0.0.1 or ::1 only (the inspector gives full control of the process)`);
}

/** `ws://127.0.0.1:9229/<id>` or `ws://[::1]:9229/<id>`: always built from our own host, never from what the target says. */
export function webSocketUrl(endpoint: Pick<InspectorEndpoint, 'host' | 'port'>, id: string): string {
  const host = endpoint.host === '::1' ? '[::1]' : endpoint.host;
  return `ws://${host}:${endpoint.port}/${encodeURIComponent(id)}`;
}

export interface TargetProcess {
  pid: number;
  /** The process's executable (Linux: /proc/<pid>/exe), when readable. */
  executable: string | undefined;
}

/**
 * Checks that `pid` is a live process this user may signal and, where /proc
 * tells, that it runs Node.js — before anything is sent to it: SIGUSR1 kills
 * a process that does not handle it. With `willSignal` false (the inspector
 * is already open, --port) only existence is checked.
 */
export function checkTargetProcess(pid: number, willSignal: boolean): TargetProcess {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new AttachInputError(`pid must be a positive whole number (got ${pid})`);
  if (pid === process.pid) throw new AttachInputError(`pid ${pid} is napi-heapdiff itself`);
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new AttachInputError(`no process with pid ${pid}`);
    if (code === 'EPERM') throw new AttachInputError(`process ${pid} belongs to another user (EPERM): run napi-heapdiff as that user`);
    throw new AttachInputError(`cannot signal process ${pid}: ${code ?? (error as Error).message}`);
  }
  if (process.platform !== 'linux') return { pid, executable: undefined };
  let executable: string;
  try {
    executable = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!willSignal) return { pid, executable: undefined };
    if (code === 'ENOENT') throw new AttachInputError(`process ${pid} is not a Node.js process (it has no executable: a zombie or a kernel thread)`);
    throw new AttachInputError(`cannot tell whether process ${pid} runs Node.js (/proc/${pid}/exe: ${code}); if its inspector is open, give --port`);
  }
  if (willSignal && !isNodeExecutable(executable)) {
    throw new AttachInputError(`process ${pid} is not a Node.js process (${executable}); if it embeds Node.js and its inspector is open, give --port`);
  }
  return { pid, executable };
}

/** node, nodejs, node20, node-v20.1.0, node.exe …, or the very binary running this tool. */
function isNodeExecutable(executable: string): boolean {
  if (/^node(js)?([-_.]?v?\d[\w.-]*)?(\.exe)?$/i.test(basename(executable))) return true;
  try {
    return realpathSync(executable) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

interface ListeningSocket {
  /** Dotted IPv4 or full IPv6 address text. */
  address: string;
  port: number;
  /** How to reach it over loopback: undefined when it listens on another interface only. */
  via: LoopbackHost | undefined;
}

/**
 * The TCP sockets `pid` listens on (Linux: its socket inodes in /proc/<pid>/fd
 * matched against /proc/<pid>/net/tcp{,6}); undefined when /proc cannot tell.
 */
export function listeningSockets(pid: number): ListeningSocket[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const sockets: ListeningSocket[] = [];
  let readAny = false;
  for (const family of ['tcp', 'tcp6'] as const) {
    let table: string;
    try {
      table = readFileSync(`/proc/${pid}/net/${family}`, 'utf8');
      readAny = true;
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      const [addressHex, portHex] = fields[1]!.split(':') as [string, string];
      const address = family === 'tcp' ? ipv4(addressHex) : ipv6(addressHex);
      sockets.push({ address, port: parseInt(portHex, 16), via: reachableVia(address) });
    }
  }
  return readAny ? sockets : undefined;
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit word. */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

/** … and an IPv6 address as four little-endian 32-bit words. */
function ipv6(hex: string): string {
  const groups: string[] = [];
  for (let word = 0; word < 4; word++) {
    const bytes = hex.slice(word * 8, word * 8 + 8).match(/../g)!.reverse().join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  return groups.map((g) => g.toLowerCase()).join(':');
}

function reachableVia(address: string): LoopbackHost | undefined {
  if (address === '0.0.0.0' || address.startsWith('127.')) return '127.0.0.1';
  const words = address.split(':');
  if (words.length !== 8) return undefined;
  const zerosBefore = (n: number) => words.slice(0, n).every((w) => /^0+$/.test(w));
  if (zerosBefore(7) && /^0*1$/.test(words[7]!)) return '::1';
  if (zerosBefore(8)) return '::1'; // "::", every interface
  if (zerosBefore(5) && words[5] === 'ffff') {
    const high = parseInt(words[6]!, 16);
    if (high >> 8 === 127 || (high === 0 && /^0+$/.test(words[7]!))) return '127.0.0.1';
  }
  return undefined;
}

/** GET http://host:port/path as JSON (at most 1 MiB, `timeoutMs`). */
export function getInspectorJson<T>(host: LoopbackHost, port: number, path: string, timeoutMs = 2_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = get({ host, port, path, agent: false, timeout: timeoutMs, headers: { accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > 1 << 20) request.destroy(new Error('answer too large'));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`HTTP ${response.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch {
          reject(new Error('not JSON'));
        }
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
  });
}

/** True when host:port answers /json/version like a Node.js inspector. */
async function isNodeInspector(host: LoopbackHost, port: number): Promise<boolean> {
  try {
    const version = await getInspectorJson<{ Browser?: string }>(host, port, '/json/version', 1_000);
    return typeof version?.Browser === 'string' && /node/i.test(version.Browser);
  } catch {
    return false;
  }
}

/**
 * The inspector target (the main thread) listening at an endpoint, with
 * one-line errors for a closed port and for something that is not an inspector.
 */
export async function inspectorTarget(host: LoopbackHost, port: number): Promise<InspectorTarget> {
  let list: InspectorTarget[];
  try {
    list = await getInspectorJson<InspectorTarget[]>(host, port, '/json/list');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${host === '::1' ? '[::1]' : host}:${port}`;
    if (code === 'ECONNREFUSED') throw new AttachInputError(`nothing listens on ${where}: the inspector is not open there`);
    if (code === 'ETIMEDOUT' || code === 'ECONNRESET') throw new AttachInputError(`${where} does not answer like a Node.js inspector (${code})`);
    throw new AttachInputError(`${where} is not a Node.js inspector (/json/list: ${code ?? (error as Error).message})`);
  }
  const target = Array.isArray(list) ? list.find((t) => typeof t?.id === 'string' && (t.type === undefined || t.type === 'node')) : undefined;
  if (!target) throw new AttachInputError(`${host}:${port} is not a Node.js inspector (no target in /json/list)`);
  return target;
}

export interface ActivateOptions {
  pid: number;
  /** Connect over this loopback host only (default: whichever the inspector listens on). */
  host?: LoopbackHost;
  /** How long to wait for the inspector to open after SIGUSR1 (default 5000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Opens the inspector of a running Node.js process the way `node inspect -p
 * <pid>` does (SIGUSR1; on Windows process._debugProcess) and finds its port:
 * on Linux the listening socket that appears in the process after the signal
 * (so --inspect-port=0 and ports other than 9229 work, and another process's
 * inspector on 9229 is never mistaken for it); elsewhere 9229. An inspector
 * that was already open is found too, and reported as not opened by us.
 */
export async function activateInspector(options: ActivateOptions): Promise<InspectorEndpoint> {
  const { pid } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const before = listeningSockets(pid);

  if (before === undefined) {
    // No /proc: the default port, checked before and after the signal.
    const host = options.host ?? '127.0.0.1';
    if (await isNodeInspector(host, DEFAULT_INSPECTOR_PORT)) return { host, port: DEFAULT_INSPECTOR_PORT, openedByUs: false };
    signalInspector(pid);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      options.signal?.throwIfAborted();
      if (await isNodeInspector(host, DEFAULT_INSPECTOR_PORT)) return { host, port: DEFAULT_INSPECTOR_PORT, openedByUs: true };
      await sleep(50);
    }
    throw new AttachInputError(`process ${pid} opened no inspector on ${host}:${DEFAULT_INSPECTOR_PORT} within ${timeoutMs} ms of SIGUSR1; if it listens elsewhere, give --port`);
  }

  const known = new Set(before.map((s) => s.port));
  signalInspector(pid);
  const started = Date.now();
  let probedOld = false;
  let foreign: ListeningSocket | undefined;
  while (Date.now() - started < timeoutMs) {
    options.signal?.throwIfAborted();
    await sleep(25);
    const now = listeningSockets(pid);
    if (now === undefined) {
      checkAlive(pid);
      continue;
    }
    for (const socket of now.filter((s) => !known.has(s.port))) {
      if (socket.via === undefined) {
        foreign = socket;
        continue;
      }
      const host = options.host ?? socket.via;
      if (await isNodeInspector(host, socket.port)) return { host, port: socket.port, openedByUs: true };
    }
    // Nothing new after a while: the inspector may have been open already.
    if (!probedOld && Date.now() - started >= 500) {
      probedOld = true;
      const old = before.filter((s) => s.via !== undefined).sort((a, b) => Number(b.port === DEFAULT_INSPECTOR_PORT) - Number(a.port === DEFAULT_INSPECTOR_PORT));
      for (const socket of old) {
        const host = options.host ?? socket.via!;
        if (await isNodeInspector(host, socket.port)) return { host, port: socket.port, openedByUs: false };
      }
    }
  }
  checkAlive(pid);
  if (foreign) throw new AttachInputError(`the inspector of process ${pid} listens on ${foreign.address}:${foreign.port}, not on loopback; attach connects to 127.0.0.1 or ::1 only`);
  throw new AttachInputError(
    `process ${pid} opened no inspector within ${timeoutMs} ms of SIGUSR1 (is its --inspect-port, 9229 by default, taken by another process? started with --disable-sigusr1, or handling SIGUSR1 itself?)`,
  );
}

function signalInspector(pid: number): void {
  try {
    if (process.platform === 'win32') {
      (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
    } else {
      process.kill(pid, 'SIGUSR1');
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new AttachInputError(`no process with pid ${pid}`);
    throw new AttachInputError(`cannot signal process ${pid}: ${code ?? (error as Error).message}`);
  }
}

function checkAlive(pid: number): void {
  if (!isAlive(pid)) throw new AttachInputError(`process ${pid} exited`);
}

/** True while `pid` exists (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}

/** True when a TCP connection to host:port is refused or fails (the inspector is closed). */
export function portClosed(host: LoopbackHost, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
