import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AttachInputError } from '../../src/attach/errors.js';
import { INJECTED_AGENT_URL, injectionScript } from '../../src/attach/remote-agent.js';
import { listeningSockets, loopbackHost, webSocketUrl } from '../../src/attach/target.js';

// The parts of attach that need no second process.

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

function listen(host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    servers.push(server);
    server.once('error', () => resolve(undefined)); // e.g. no IPv6 here
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
}

describe('loopback only', () => {
  it('accepts 127.0.0.1 and ::1 (also [::1]); refuses every other host, names included', () => {
    expect(loopbackHost('127.0.0.1')).toBe('127.0.0.1');
    expect(loopbackHost('::1')).toBe('::1');
    expect(loopbackHost('[::1]')).toBe('::1');
    for (const host of ['localhost', '0.0.0.0', '127.0.0.2', '10.0.0.1', 'example.com', '::', '::ffff:127.0.0.1', '']) {
      expect(() => loopbackHost(host), host).toThrow(AttachInputError);
    }
  });

  it('builds the WebSocket URL from its own host and an escaped target id, never from what the target sends', () => {
    expect(webSocketUrl({ host: '127.0.0.1', port: 9229 }, 'abc-123')).toBe('ws://127.0.0.1:9229/abc-123');
    expect(webSocketUrl({ host: '::1', port: 4000 }, 'a/b@evil.example')).toBe('ws://[::1]:4000/a%2Fb%40evil.example');
  });
});

describe('listening sockets from /proc', () => {
  it.runIf(process.platform === 'linux')('finds this process\'s listeners with their ports, and how to reach each over loopback', async () => {
    const v4 = await listen('127.0.0.1');
    const any = await listen('0.0.0.0');
    const v6 = await listen('::1');
    const sockets = listeningSockets(process.pid)!;
    expect(sockets).toBeDefined();
    expect(sockets).toContainEqual({ address: '127.0.0.1', port: v4, via: '127.0.0.1' });
    expect(sockets).toContainEqual({ address: '0.0.0.0', port: any, via: '127.0.0.1' });
    if (v6 !== undefined) expect(sockets).toContainEqual({ address: '0000:0000:0000:0000:0000:0000:0000:0001', port: v6, via: '::1' });
  });

  it('is undefined for a process that does not exist', () => {
    expect(listeningSockets(2147483646)).toBeUndefined();
  });
});

describe('the injected agent', () => {
  it('is the agent\'s CommonJS source in a module wrapper, without its source map comment, named for stack filtering', () => {
    const script = injectionScript('exports.x = 1;\n//# sourceMappingURL=agent.cjs.map\n');
    expect(script).toContain('exports.x = 1;');
    expect(script).not.toContain('sourceMappingURL');
    expect(script.trimEnd().endsWith(`//# sourceURL=${INJECTED_AGENT_URL}`)).toBe(true);
  });

  it('runs with a require that hands out node: modules and records the hook it creates; never in command-capture mode', async () => {
    const { readFileSync } = await import('node:fs');
    const { runInThisContext } = await import('node:vm');
    const { createRequire } = await import('node:module');
    const agentSource = readFileSync(new URL('../../dist/agent/agent.cjs', import.meta.url), 'utf8');
    // As in the inspector console: `require` in scope.
    const run = runInThisContext(`(function (require) { return ${injectionScript(agentSource)}; })`) as (require: NodeRequire) => { agent: { REGISTRY_MARKER: string; settle: (cb: () => void) => void }; installed: boolean; uninstall: () => void };
    // Were command-capture mode to start, it would write into this folder (a start-up snapshot, an events file).
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const captureDir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-inject-'));
    process.env.NAPI_HEAPDIFF_CAPTURE_DIR = captureDir;
    let installed: ReturnType<typeof run>;
    try {
      installed = run(createRequire(import.meta.url));
      expect(process.env.NAPI_HEAPDIFF_CAPTURE_DIR).toBe(captureDir);
    } finally {
      delete process.env.NAPI_HEAPDIFF_CAPTURE_DIR;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readdirSync(captureDir)).toEqual([]);
    rmSync(captureDir, { recursive: true, force: true });
    expect(installed.installed).toBe(true);
    expect(installed.agent.REGISTRY_MARKER).toBe('napi-heapdiff agent registry');
    await new Promise<void>((resolve) => installed.agent.settle(resolve));
    installed.uninstall();
  });
});
