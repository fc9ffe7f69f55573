/**
 * Real socket.io-client helpers: typed sockets, acks with a timeout, and waiting for
 * events with a timeout (never a bare sleep).
 */
import { io, type Socket, type SocketOptions, type ManagerOptions } from 'socket.io-client';
import type { AckResponse, ClientEventResults, ClientPayload, ClientToServerEvents, ServerToClientEvents } from '../../src/contract/events.js';
import type { ClientEventName } from '../../src/contract/schemas.js';

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The server events a test can wait for: the contract's, and socket.io-client's own. */
export type ClientSideEvent = keyof ServerToClientEvents | 'connect' | 'disconnect' | 'connect_error';
/** What `event` carries: the contract's payload type, or socket.io-client's argument. */
export type PayloadOf<E extends ClientSideEvent> = E extends keyof ServerToClientEvents
  ? Parameters<ServerToClientEvents[E]>[0]
  : E extends 'disconnect'
    ? string
    : E extends 'connect_error'
      ? Error
      : undefined;

/**
 * The ack of client event `E`: `{ ok: true, ...result }` or `{ ok: false, error }` as the
 * contract types them; other keys stay readable (`any`) so a test can check for extras.
 */
export type Reply<E extends ClientEventName> = AckResponse<ClientEventResults[E]> & Record<string, any>;

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

/**
 * Emits client event `event` with an ack and resolves with the server's reply (rejects after
 * `timeoutMs`). The payload is checked against the contract (the zod schema's input type);
 * tests that send wrong payloads on purpose use `callUnchecked`.
 */
export function call<E extends ClientEventName>(socket: Client, event: E, payload?: ClientPayload<E>, timeoutMs = 3_000): Promise<Reply<E>> {
  return callUnchecked(socket, event, payload, timeoutMs) as Promise<Reply<E>>;
}

/** `call` for payloads (and event names) the contract does not allow: bad-input and fuzz tests. */
export async function callUnchecked(socket: Client, event: string, payload?: unknown, timeoutMs = 3_000): Promise<Record<string, any>> {
  const s = socket.timeout(timeoutMs) as unknown as { emitWithAck(ev: string, ...args: unknown[]): Promise<any> };
  return payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload);
}

/** The next `event` on `socket` (typed by the contract), or a rejection after `timeoutMs`. */
export function waitFor<E extends ClientSideEvent>(socket: Client, event: E, timeoutMs = 3_000, filter: (p: PayloadOf<E>) => boolean = () => true): Promise<PayloadOf<E>> {
  type T = PayloadOf<E>;
  return new Promise((resolve, reject) => {
    // Untyped view: the listener's type is PayloadOf<E>, which socket.io's own typing cannot see through.
    const s = socket as unknown as { on(ev: string, fn: (p: T) => void): void; off(ev: string, fn: (p: T) => void): void };
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
export function record<E extends ClientSideEvent>(socket: Client, event: E): Array<PayloadOf<E> & { _at: number }> {
  const seen: Array<PayloadOf<E> & { _at: number }> = [];
  (socket as unknown as Socket).on(event as string, (p: PayloadOf<E>) => seen.push({ ...(p as object), _at: Date.now() } as PayloadOf<E> & { _at: number }));
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
