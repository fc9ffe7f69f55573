/**
 * Real socket.io-client helpers: typed sockets, acks with a timeout, and waiting for
 * events with a timeout (never a bare sleep).
 */
import { io, type Socket, type SocketOptions, type ManagerOptions } from 'socket.io-client';
import type { AckResponse, ClientToServerEvents, ServerToClientEvents } from '../../src/contract/events.js';

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const open = new Set<Client>();

/** Connects over WebSocket and resolves once connected. */
export function connect(url: string, opts: Partial<ManagerOptions & SocketOptions> = {}): Promise<Client> {
  const socket: Client = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 5_000, ...opts });
  open.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

/** Disconnects every client this file opened (call in afterEach). */
export function closeAllClients(): void {
  for (const s of open) s.disconnect();
  open.clear();
}

/** Emits with an ack and resolves with the server's reply (rejects after `timeoutMs`). */
export async function call<T = Record<string, unknown>>(socket: Client, event: string, payload?: unknown, timeoutMs = 3_000): Promise<AckResponse<T> & Record<string, any>> {
  const s = socket.timeout(timeoutMs) as unknown as { emitWithAck(ev: string, ...args: unknown[]): Promise<any> };
  return payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload);
}

/** The next `event` on `socket`, or a rejection after `timeoutMs`. */
export function waitFor<T = any>(socket: Client, event: string, timeoutMs = 3_000, filter: (p: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const s = socket as unknown as Socket;
    const timer = setTimeout(() => {
      s.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const on = (payload: T) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      s.off(event, on);
      resolve(payload);
    };
    s.on(event, on);
  });
}

/** Records every `event` from now on, with its arrival time. */
export function record<T = any>(socket: Client, event: string): Array<T & { _at: number }> {
  const seen: Array<T & { _at: number }> = [];
  (socket as unknown as Socket).on(event, (p: T) => seen.push({ ...p, _at: Date.now() }));
  return seen;
}

/** Retries an assertion until it passes or `timeoutMs` runs out (then rethrows its error). */
export async function eventually(assertion: () => void | Promise<void>, timeoutMs = 3_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** Creates a room with `host` and joins `guests`; returns the replies. */
export async function roomWith(host: Client, guests: Client[], create: Record<string, unknown> = {}) {
  const created = await call(host, 'create_session', { user_name: 'Host', ...create });
  if (!created.ok) throw new Error(`create failed: ${JSON.stringify(created)}`);
  const joined = [];
  for (const [i, g] of guests.entries()) {
    const j = await call(g, 'join_session', { room_code: created.room_code, user_name: `Guest${i + 1}` });
    if (!j.ok) throw new Error(`join failed: ${JSON.stringify(j)}`);
    joined.push(j);
  }
  return { created, joined, code: created.room_code as string };
}
