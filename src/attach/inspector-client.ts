import WebSocket from 'ws';
import { InspectorDisconnectedError, InspectorProtocolError, InspectorTimeoutError } from './errors.js';

/** What the inspector sends: a reply (with the id of a call) or an event. */
interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code?: number; message?: string; data?: string };
}

interface Pending {
  method: string;
  onReply: (() => void) | undefined;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface SendOptions {
  /** Reject with InspectorTimeoutError after this many ms (default: the client's; 0 = never). */
  timeoutMs?: number;
  /**
   * Called the moment the reply arrives, before any message after it is
   * handled: places the reply among events (which chunks of a snapshot came
   * before it), which the resolved promise cannot.
   */
  onReply?: () => void;
}

/**
 * A minimal Chrome DevTools Protocol client for one Node.js inspector target
 * over a WebSocket. Replies are matched to calls by id; events go to the
 * handlers registered for their method, synchronously, one message at a time
 * (a handler that writes with writeSync holds the socket's reading back: the
 * attaching process never buffers more than a few messages).
 *
 * When the socket closes, every pending call is rejected with
 * InspectorDisconnectedError and `closed` resolves.
 */
export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Set<(params: unknown) => void>>();
  private open = true;
  /** Resolves once the socket has closed, for any reason. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: WebSocket,
    private readonly defaultTimeoutMs: number,
  ) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.open = false;
        for (const [id, call] of this.pending) {
          this.pending.delete(id);
          if (call.timer) clearTimeout(call.timer);
          call.reject(new InspectorDisconnectedError(`inspector connection closed during ${call.method}`));
        }
        resolve();
      });
    });
    socket.on('error', () => {
      // 'close' follows; the pending calls are rejected there.
    });
    socket.on('message', (data: WebSocket.RawData) => this.receive(data));
  }

  /** Opens the WebSocket (`ws://127.0.0.1:<port>/<id>`); rejects when it cannot. */
  static connect(url: string, options: { timeoutMs?: number } = {}): Promise<InspectorClient> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: Math.min(timeoutMs, 10_000), maxPayload: 64 << 20, followRedirects: false });
      const fail = (error: Error) => {
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(error);
      };
      socket.once('error', fail);
      socket.once('unexpected-response', (_request, response) => fail(new Error(`inspector refused the WebSocket connection (HTTP ${response.statusCode})`)));
      socket.once('open', () => {
        socket.removeListener('error', fail);
        resolve(new InspectorClient(socket, timeoutMs));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Calls a protocol method and resolves with its result. */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}, options: SendOptions = {}): Promise<T> {
    if (!this.open) return Promise.reject(new InspectorDisconnectedError(`inspector connection closed before ${method}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          this.pending.delete(id);
          reject(new InspectorTimeoutError(`${method}: no answer from the inspector within ${timeoutMs} ms`));
        }, timeoutMs)
        : undefined;
      this.pending.set(id, { method, onReply: options.onReply, resolve: resolve as (result: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ id, method, params }), (error) => {
        if (!error) return;
        const call = this.pending.get(id);
        if (!call) return;
        this.pending.delete(id);
        if (call.timer) clearTimeout(call.timer);
        reject(this.open ? error : new InspectorDisconnectedError(`inspector connection closed during ${method}`));
      });
    });
  }

  /** Sends a call whose answer does not matter (it may never come: Runtime.evaluate of inspector.close()). */
  post(method: string, params: Record<string, unknown> = {}): void {
    if (!this.open) return;
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }), () => {});
  }

  /** Registers an event handler; returns a function that removes it. */
  on(method: string, handler: (params: unknown) => void): () => void {
    let set = this.handlers.get(method);
    if (!set) this.handlers.set(method, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  /** Closes the socket and waits until it is closed (at most `timeoutMs`, then it is dropped). */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.open) {
      this.socket.close();
      const timer = setTimeout(() => this.socket.terminate(), timeoutMs);
      await this.closed;
      clearTimeout(timer);
    }
  }

  private receive(data: WebSocket.RawData): void {
    let message: Message;
    try {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      message = JSON.parse(bytes.toString('utf8')) as Message;
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (call.timer) clearTimeout(call.timer);
      call.onReply?.();
      if (message.error) call.reject(new InspectorProtocolError(call.method, message.error.code, message.error.message ?? 'error'));
      else call.resolve(message.result);
      return;
    }
    if (typeof message.method === 'string') {
      const set = this.handlers.get(message.method);
      if (set) for (const handler of set) handler(message.params);
    }
  }
}
