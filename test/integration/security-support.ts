/**
 * Shared by the security tests (event-fuzz, input-limits, origin-check, drain-instance,
 * shutdown-under-load, client-drain): wire-error checks, a server in a child process
 * (for signals, exit codes and log capture), a raw Engine.IO/Socket.IO WebSocket client
 * (for frames socket.io-client would never send).
 */
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { type ProcessExit, spawnServer as spawnServerChild } from '../helpers/process.js';

/** What must never reach a client: stack frames, file paths, error class names, library names. */
export const LEAK = /\n\s+at |\bat \S*.*\(.*:\d+:\d+\)|node_modules|\/work\/|file:\/\/|\.ts:\d+|\.js:\d+|\b(TypeError|ReferenceError|SyntaxError|RangeError|ioredis|ECONNREFUSED)\b/;

/** True when `text` shows internals that are not simply an echo of what the client sent (`sent`). */
export function leaks(text: string, sent = ''): boolean {
  const m = LEAK.exec(text);
  return m !== null && !sent.includes(m[0]);
}

export function isWireErrorCode(code: unknown): boolean {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Returns what is wrong with an ack reply, or null when it is a proper reply:
 * `{ ok: true, ... }` or `{ ok: false, error: { code (one of ERROR_CODES), message } }`,
 * with no internals in it. `sent` is the request as text (user input the server may echo).
 */
export function badAck(reply: unknown, sent = ''): string | null {
  if (typeof reply !== 'object' || reply === null) return `reply is not an object: ${String(reply)}`;
  const r = reply as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  const text = JSON.stringify(reply);
  if (r.ok === true) return leaks(text, sent) ? `ok reply leaks internals: ${text.slice(0, 300)}` : null;
  if (r.ok !== false) return `reply has no boolean ok: ${text.slice(0, 300)}`;
  if (!r.error || !isWireErrorCode(r.error.code)) return `unknown error code: ${text.slice(0, 300)}`;
  if (typeof r.error.message !== 'string') return `error without a message: ${text.slice(0, 300)}`;
  if (leaks(r.error.message, sent)) return `error message leaks internals: ${text.slice(0, 300)}`;
  return null;
}

// ------------------------------------------------------------------ child server

export interface ChildServer {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process wrote to stdout/stderr so far. */
  output(): string;
  /** Parsed pino lines of stdout so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (null if killed by a signal) and the signal. */
  exited: Promise<ProcessExit>;
  /** SIGKILL if still running (cleanup). */
  kill(): void;
}

/**
 * `node --import tsx src/server.ts` with `env` (on top of this process's env, minus test
 * noise), listening on 127.0.0.1:PORT (a free port unless given); resolves once it logs
 * "focusroom listening".
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ChildServer> {
  const p = await spawnServerChild({ HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env, PORT: env.PORT && env.PORT !== '0' ? env.PORT : undefined });
  const proc = p.child;
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void p.exited.then(() => (exitedEarly = true));
  while (!p.stdout().includes('"msg":"focusroom listening"')) {
    if (exitedEarly) throw new Error(`server exited before listening:\n${p.stdout()}\n${p.stderr()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not listen within ${timeoutMs} ms:\n${p.stdout()}\n${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: p.url,
    port: p.port,
    proc,
    output: () => p.stdout() + p.stderr(),
    logs: () =>
      p
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { unparsed: l };
          }
        }),
    exited: p.exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

// ------------------------------------------------------------------ raw Socket.IO over WebSocket

/**
 * Speaks Engine.IO v4 / Socket.IO v5 frames by hand: `40` to join the default
 * namespace, `42<id>[...]` events with ack ids, `43<id>[...]` ack replies, pings answered.
 */
export class RawClient {
  readonly acks = new Map<number, unknown[]>();
  readonly events: unknown[][] = [];
  closed = false;
  closeCode: number | null = null;
  private waiters = new Map<number, (args: unknown[]) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === '2') ws.send('3');
      else if (text.startsWith('43')) {
        const m = /^43(\d+)(\[.*)$/s.exec(text);
        if (!m) return;
        const id = Number(m[1]);
        const args = JSON.parse(m[2]!) as unknown[];
        this.acks.set(id, args);
        this.waiters.get(id)?.(args);
        this.waiters.delete(id);
      } else if (text.startsWith('42')) {
        this.events.push(JSON.parse(text.slice(2)) as unknown[]);
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      for (const w of this.waiters.values()) w([]);
      this.waiters.clear();
    });
  }

  static connect(baseUrl: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw connect timed out')), 5_000);
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`handshake refused: HTTP ${res.statusCode}`));
      });
      const onMessage = (data: WebSocket.RawData) => {
        const text = data.toString();
        if (text.startsWith('0')) ws.send('40');
        else if (text.startsWith('40')) {
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve(client);
        } else if (text.startsWith('44')) {
          clearTimeout(timer);
          reject(new Error(`connect_error ${text.slice(2)}`));
        }
      };
      ws.on('message', onMessage);
      const client = new RawClient(ws);
    });
  }

  send(frame: string | Buffer): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  /** Sends `42<id><json>` and waits for `43<id>`; resolves [] if the connection closes first. */
  callRaw(id: number, json: string, timeoutMs = 5_000): Promise<unknown[] | 'timeout'> {
    return this.sendAwaitingAck(id, [`42${id}${json}`], timeoutMs);
  }

  /** A binary event: `45<n>-<id><json>` followed by `n` binary frames; waits for `43<id>`. */
  callBinary(id: number, json: string, buffers: Buffer[], timeoutMs = 5_000): Promise<unknown[] | 'timeout'> {
    return this.sendAwaitingAck(id, [`45${buffers.length}-${id}${json}`, ...buffers], timeoutMs);
  }

  /**
   * Sends `frames` in order and resolves with the args of ack `id`: [] if the connection is
   * (or gets) closed first, 'timeout' after `timeoutMs`.
   */
  private sendAwaitingAck(id: number, frames: Array<string | Buffer>, timeoutMs: number): Promise<unknown[] | 'timeout'> {
    return new Promise((resolve) => {
      if (this.closed) return resolve([]);
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve('timeout');
      }, timeoutMs);
      this.waiters.set(id, (args) => {
        clearTimeout(timer);
        resolve(args);
      });
      for (const frame of frames) this.send(frame);
    });
  }

  close(): void {
    this.ws.close();
  }
}
