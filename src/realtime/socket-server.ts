/**
 * Socket.IO setup: transport limits, origin check, handshake auth (auth/caller.ts)
 * and connection limits, then every event goes to the dispatcher.
 */
import type { Server as HttpServer } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { Server } from 'socket.io';
import type { Config } from '../config.js';
import { originAllowed } from '../limits/origin-policy.js';
import { LIMITS } from '../contract/limits.js';
import { disconnect } from '../domain/membership.js';
import type { Clock } from '../domain/clock.js';
import type { Metrics } from '../metrics.js';
import type { Dispatcher } from './dispatcher.js';
import type { CallerResolver } from '../auth/caller.js';
import { AppError } from '../contract/errors.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { seatFromAuth, seatIsLive } from '../auth/handshake-seat.js';
import type { RoomService } from '../rooms/room-service.js';
import type { TransportGuard } from '../limits/transport-guard.js';
import { releaseHandshakes } from './handshake-release.js';
import type { TypedServer, TypedSocket } from './types.js';

export function createSocketServer(httpServer: HttpServer, config: Config, isDraining: () => boolean, guard: TransportGuard, metrics: Metrics): TypedServer {
  const io: TypedServer = new Server(httpServer, {
    // A huge frame is refused at the transport, before it can cost anyone else memory.
    maxHttpBufferSize: LIMITS.maxFrameBytes,
    // The web page's Socket.IO client comes from the installed socket.io-client package
    // (/socket.io/socket.io.esm.min.js), so it always matches the server's version.
    serveClient: true,
    cors: { origin: config.corsOrigins ?? true, credentials: true },
    // A bare Engine.IO session (no Socket.IO connect yet) is closed after CONNECT_TIMEOUT_MS
    // by limits/transport-guard.ts; Socket.IO's own timer (a polite close) is only the backstop.
    connectTimeout: config.transport.connectTimeoutMs + 1_000,
    // Called for new handshakes only (not for the requests of an open session).
    allowRequest: (req, cb) => {
      if (isDraining()) return cb('draining', false);
      // WebSocket upgrades are not covered by CORS, so the origin is checked here.
      if (!originAllowed(req.headers.origin, req.headers.host, config.corsOrigins)) return cb('origin not allowed', false);
      const refusal = guard.refusal(req);
      if (refusal) {
        metrics.refusedConnections.inc({ reason: refusal });
        return cb(refusal, false);
      }
      cb(null, true);
    },
  });
  guard.attach(io);
  releaseHandshakes(io);
  return io;
}

interface WireDeps {
  config: Config;
  /** Each connection's limit address (limits/client-address.ts: last trusted hop, IPv6 by /64), read as it opened. */
  guard: Pick<TransportGuard, 'connAddress'>;
  clock: Clock;
  limits: RateLimits;
  rooms: RoomService;
  callers: CallerResolver;
  dispatcher: Dispatcher;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

export function wireSocketServer(io: TypedServer, deps: WireDeps): void {
  const { config, limits, metrics } = deps;

  io.use(async (socket, next) => {
    const ip = deps.guard.connAddress(socket.conn);
    // The request is not kept (handshake-release.ts), so Socket.IO gave this socket an empty
    // headers and query object each: one shared empty object instead, ~110 B per connection.
    socket.handshake.headers = NO_HEADERS;
    socket.handshake.query = NO_QUERY;
    socket.data = { roomCode: null, participantId: null, deliveredSeq: 0, userSub: null, userName: null, tokenExpiresAt: null, identity: null, ip, quiet: false };
    // A handshake coming back to a live seat is not charged (auth/handshake-seat.ts).
    const seat = seatFromAuth(socket.handshake.auth);
    const exempt = seat !== null && (await seatIsLive(deps.rooms, seat)) && (await limits.seatReconnect(seat.room_code, seat.participant_id));
    if (exempt) metrics.seatHandshakes.inc();
    if (!exempt && !(await limits.connection(ip))) return next(new Error('rate_limited'));
    // The caller as every REST route resolves it (auth/caller.ts, mode `jwt`): with auth on
    // `auth.token` must be a valid JWT, without auth everyone is anonymous.
    const token: unknown = socket.handshake.auth?.token;
    try {
      const caller = await deps.callers.resolve('jwt', typeof token === 'string' ? token : null);
      socket.data.userSub = caller.sub;
      socket.data.identity = caller.identity;
      socket.data.userName = caller.name;
      socket.data.tokenExpiresAt = caller.expiresAt;
      next();
    } catch (err) {
      next(new Error(err instanceof AppError ? err.code : 'unauthorized'));
    }
  });

  // One pair of listeners shared by every socket (Socket.IO calls them with `this` = the
  // socket) rather than two closures per connection: memory per idle connection.
  function onAnyEvent(this: TypedSocket, event: string, ...args: unknown[]): void {
    deps.dispatcher.handle(this, event, args);
  }
  function onDisconnect(this: TypedSocket): void {
    metrics.connections.dec();
    const socket = this;
    const expiry = expiryTimers.get(socket);
    if (expiry) clearTimeout(expiry);
    if (!socket.data.roomCode || !socket.data.participantId) return;
    // Queued behind the socket's own events, so a join in flight is seen first.
    deps.dispatcher.runInOrder(socket, async () => {
      const code = socket.data.roomCode;
      const pid = socket.data.participantId;
      if (!code || !pid) return;
      await deps.rooms
        .apply(code, (room) => disconnect(room, pid, socket.id, deps.clock.now()))
        .catch((err: unknown) => deps.log.warn({ err, room: code }, 'could not record disconnect'));
    });
  }

  /**
   * A token is checked at the handshake, and the connection does not outlive it: when
   * its `exp` passes the socket gets `error {code: 'unauthorized'}` and is closed, like a
   * dropped connection — the seat keeps its grace period, and the client resumes it after
   * reconnecting with a fresh token (socket.io-client's `auth` may be a callback for that).
   * One timer per authenticated socket, none when auth is off.
   */
  const expiryTimers = new WeakMap<TypedSocket, NodeJS.Timeout>();
  function armExpiry(socket: TypedSocket): void {
    const at = socket.data.tokenExpiresAt;
    if (at === null) return;
    // setTimeout holds at most ~24.8 days; a longer-lived token is re-armed when that passes.
    const wait = Math.min(Math.max(0, at - deps.clock.now()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (!socket.connected) return;
      if (deps.clock.now() < at) return armExpiry(socket);
      socket.emit('error', { message: 'token expired', code: 'unauthorized' });
      socket.disconnect(true);
    }, wait);
    timer.unref();
    expiryTimers.set(socket, timer);
  }

  io.on('connection', (socket) => {
    metrics.connections.inc();
    anyListener(socket, onAnyEvent);
    socket.on('disconnect', onDisconnect);
    armExpiry(socket);
  });
}

/**
 * `socket.onAny(listener)` as a one-slot array: Socket.IO's onAny pushes onto a fresh `[]`,
 * which V8 grows to 17 slots (~150 B per socket, for one listener). `_anyListeners` is
 * where Socket.IO 4 keeps them (every event goes through it: any test of an event fails
 * if that changes); a socket that already has some gets the ordinary call.
 */
function anyListener(socket: TypedSocket, listener: (this: TypedSocket, event: string, ...args: unknown[]) => void): void {
  const s = socket as unknown as { _anyListeners?: unknown[] };
  if (s._anyListeners === undefined) s._anyListeners = [listener];
  else socket.onAny(listener);
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const NO_HEADERS: TypedSocket['handshake']['headers'] = Object.freeze({});
const NO_QUERY: TypedSocket['handshake']['query'] = Object.freeze({});
