/**
 * Memory per idle connection: what Engine.IO keeps of each connection's handshake for the
 * connection's whole life, though nothing reads it once the connection is open, is let go.
 *
 * | kept by Engine.IO                                   | per connection | let go                    |
 * |-----------------------------------------------------|----------------|---------------------------|
 * | the HTTP request (headers, raw headers, query, …)   | ~2.3 KB        | at the connection         |
 * | the WebSocket upgrade's stand-in response           | ~0.6 KB        | in the last middleware    |
 * | the `headers` relay on a WebSocket transport        | ~0.1 KB        | at the connection         |
 * | the pre-handshake `error` no-op on the WebSocket    | ~0.1 KB        | at the connection         |
 *
 * Who needs the request reads it before: the limit address is taken as the connection opens
 * (limits/transport-guard.ts, whose `connection` listener is added first), and
 * `socket.handshake` keeps only `auth` and `address` for our use (its headers and query are
 * empty). Dropping the request is Socket.IO's own memory advice.
 */
// Types only: a value import of node:http in ESM reads every export of the module, and one
// of them loads Node's bundled undici (~1.1 MB of heap for nothing).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { TypedServer } from './types.js';

/** engine.io's stand-in for the response of a WebSocket upgrade (WebSocketResponse). */
interface UpgradeResponse {
  req: IncomingMessage | null;
  socket: Duplex;
}

/** The parts of an Engine.IO connection touched here. */
interface OpenedConnection {
  request: IncomingMessage | null;
  transport: EventEmitter & { name: string; socket?: EventEmitter };
}

export function releaseHandshakes(io: TypedServer): void {
  io.engine.on('connection', (conn: OpenedConnection) => {
    conn.request = null;
    const transport = conn.transport;
    if (transport.name !== 'websocket') return;
    // Only a long-polling transport emits `headers` (its HTTP responses'); the relay to the
    // server's `headers` event that Engine.IO adds to every first transport is a closure per connection.
    transport.removeAllListeners('headers');
    // The no-op `error` listener Engine.IO puts on a WebSocket until the transport takes over
    // its errors: it removes it itself when a long-polling session upgrades, not here.
    const ws = transport.socket;
    const noop = ws?.listeners('error').find((f) => f.name === 'onUpgradeError');
    if (ws && noop && ws.listenerCount('error') > 1) ws.removeListener('error', noop as () => void);
  });
  // The last Engine.IO middleware (after the CORS one, which writes its headers through the
  // response): for a WebSocket upgrade the response is engine.io's stand-in, which nothing
  // uses after the middlewares. Its one `close` listener on the TCP socket (the socket's
  // only one here: Node removed its HTTP listeners before the upgrade, ws adds its own
  // after the middlewares) would keep it and the request for the connection's life;
  // nothing listens for the stand-in's own `close`.
  io.engine.use((_req: IncomingMessage, response: ServerResponse | UpgradeResponse, next: (err?: Error) => void) => {
    // engine.io's stand-in is not a ServerResponse: it has no status.
    if (!('statusCode' in response)) {
      const res = response;
      res.req = null;
      const closers = res.socket.rawListeners('close');
      if (closers.length === 1) res.socket.removeListener('close', closers[0] as () => void);
    }
    next();
  });
}
