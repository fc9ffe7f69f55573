/**
 * Raw Engine.IO v4 / Socket.IO v5 clients for abuse tests: a `ws` client that can stop
 * reading, a long-polling client that can stop polling, send pongs on its own, or send a
 * GET and never read its answer. No socket.io-client: it would answer pings and read.
 */
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import WebSocket from 'ws';

const SEP = '\x1e';

export interface RawWs {
  ws: WebSocket;
  /** The Engine.IO session id (a key of the server's `io.engine.clients`). */
  engineSid: string;
  /** Socket.IO packets received (Engine.IO type 4 = message), as text after the "4". */
  messages: string[];
  closed: Promise<void>;
  isClosed(): boolean;
  emit(event: string, payload: unknown): void;
  /** Waits for a Socket.IO event (`42["event", ...]`) and returns its payload. */
  next(event: string, timeoutMs?: number): Promise<any>;
  /** Stops reading from the TCP socket: the server's writes pile up. */
  stopReading(): void;
}

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);
}

/** Opens a raw WebSocket session and sends the Socket.IO connect; resolves once connected. */
export async function rawWs(httpUrl: string, headers: Record<string, string> = {}): Promise<RawWs> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers });
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  let closedFlag = false;
  let engineSid = '';
  const closed = new Promise<void>((resolve) => ws.once('close', () => {
    closedFlag = true;
    resolve();
  }));
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '2') ws.send('3'); // answer pings while reading
    else if (text.startsWith('0')) engineSid = (JSON.parse(text.slice(1)) as { sid: string }).sid;
    else if (text.startsWith('4')) messages.push(text.slice(1));
    for (const w of waiters.splice(0)) w();
  });
  const changed = () => new Promise<void>((r) => waiters.push(r));
  await deadline(new Promise((r, j) => { ws.once('open', r); ws.once('error', j); }), 5_000, 'ws open');
  ws.send('40');
  await deadline((async () => { while (!messages.some((m) => m.startsWith('0'))) await changed(); })(), 5_000, 'socket.io connect');
  const raw: RawWs = {
    ws,
    engineSid,
    messages,
    closed,
    isClosed: () => closedFlag,
    emit: (event, payload) => ws.send(`42${JSON.stringify([event, payload])}`),
    async next(event, timeoutMs = 5_000) {
      const prefix = `2["${event}",`;
      const start = messages.length;
      return deadline((async () => {
        for (let i = start; ; i++) {
          while (messages.length <= i) await changed();
          if (messages[i]!.startsWith(prefix)) return JSON.parse(messages[i]!.slice(1))[1];
        }
      })(), timeoutMs, `event ${event}`);
    },
    stopReading() {
      // Nothing more is read from the TCP socket: the kernel buffers fill up, then the server's.
      ws.pause();
    },
  };
  return raw;
}

export interface RawPolling {
  sid: string;
  /** POSTs Engine.IO packets (text), e.g. '3' (a pong) or '42[...]'. Resolves with the HTTP status. */
  post(...packets: string[]): Promise<number>;
  /** One poll: the packets the server had queued. */
  poll(): Promise<string[]>;
  /** Sends one GET over a raw TCP connection and never reads the answer. */
  pollNeverRead(): TcpSocket;
  emit(event: string, payload: unknown): Promise<number>;
}

/** Opens a long-polling session and sends the Socket.IO connect. */
export async function rawPolling(httpUrl: string): Promise<RawPolling> {
  const base = `${httpUrl}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text();
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  const url = `${base}&sid=${sid}`;
  const raw: RawPolling = {
    sid,
    post: async (...packets) => {
      const res = await fetch(url, { method: 'POST', body: packets.join(SEP), headers: { 'content-type': 'text/plain' } });
      await res.text();
      return res.status;
    },
    poll: async () => {
      const res = await fetch(url);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`poll ${res.status}: ${text}`);
      return text.split(SEP);
    },
    pollNeverRead() {
      const u = new URL(url);
      const sock = tcpConnect(Number(u.port), u.hostname);
      sock.on('error', () => undefined);
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      sock.pause();
      return sock;
    },
    emit: (event, payload) => raw.post(`42${JSON.stringify([event, payload])}`),
  };
  await raw.post('40');
  const packets = await raw.poll();
  if (!packets.some((p) => p.startsWith('40'))) throw new Error(`no socket.io connect: ${packets.join('|')}`);
  return raw;
}

/** Bytes the server holds unsent for all its Engine.IO connections (writeBuffer + WebSocket buffers). */
export function unsentBytes(engine: { clients: Record<string, unknown> }): number {
  let total = 0;
  for (const c of Object.values(engine.clients) as Array<{ writeBuffer: Array<{ data?: unknown }>; transport: { socket?: { bufferedAmount?: number } } }>) {
    for (const p of c.writeBuffer) total += typeof p.data === 'string' ? p.data.length : 0;
    total += c.transport.socket?.bufferedAmount ?? 0;
  }
  return total;
}
