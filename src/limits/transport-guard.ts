/**
 * Engine.IO-level bounds (docs/reliability.md "Load and abuse"): open connections per address and per instance,
 * bare sessions (handshake done, no Socket.IO connect yet) per address, slow consumers,
 * and blind pongs. Socket.IO closes a bare session after `connectTimeout`
 * (CONNECT_TIMEOUT_MS, set in socket-server.ts); this file counts and caps them.
 *
 * Everything here is per instance: a connection lives on one instance, so its memory
 * and its slot are local. (The per-address *rate* of new connections is cluster-wide,
 * in rate-limits.ts, charged at the Socket.IO connect.)
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Server as EngineServer, Socket as EngineSocket } from 'engine.io';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { clientAddress } from './client-address.js';

/** What the guard hooks on the Socket.IO server (realtime/types.ts TypedServer). */
export interface GuardedServer {
  engine: Pick<EngineServer, 'on'>;
  on(event: 'connection', listener: (socket: { conn: EngineSocket }) => void): unknown;
}

/** What this file keeps per Engine.IO connection. */
interface ConnState {
  address: string;
  pending: boolean;
  /** Flood back-off (pauseReading), from the connection's first pause on: most connections never have one. */
  backoff: Backoff | null;
  /** Closes the session if it is still bare after CONNECT_TIMEOUT_MS. */
  connectTimer: NodeJS.Timeout | null;
  /** Characters of packets queued in Engine.IO's writeBuffer (unsent: the transport is not writable). */
  queued: number;
}

/** Consecutive refusals, the last one, and the end of the current pause (0 = reading). */
interface Backoff {
  strikes: number;
  lastShedAt: number;
  pausedUntil: number;
}

/** Engine.IO internals read here (typed loosely; checked by the slow-consumer tests). */
interface EngineInternals {
  pingTimeoutTimer: unknown;
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?: () => void; pause?: () => void; resume?: () => void } };
}

const PAUSE_MIN_MS = 250;
const PAUSE_STEPS = 5;
const PAUSE_MAX_MS = PAUSE_MIN_MS * 2 ** PAUSE_STEPS;

export type RefusalReason = 'instance_full' | 'address_full' | 'too_many_pending';

export class TransportGuard {
  private readonly conns = new WeakMap<EngineSocket, ConnState>();
  /** Open connections per address, and how many of them are still bare. */
  private readonly perAddress = new Map<string, { address: string; open: number; pending: number }>();
  private open = 0;

  constructor(
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
  ) {
    // One set of listeners shared by every connection (Engine.IO calls them with `this` =
    // the connection), not closures per connection: memory per idle connection.
    const guard = this;
    this.onClose = function (this: EngineSocket) {
      guard.release(this);
    };
    /**
     * Every outgoing packet: while the transport is not writable (a WebSocket whose peer
     * stopped reading, a polling client that stopped polling or never reads its GET),
     * Engine.IO queues packets without bound. Past MAX_BUFFERED_BYTES of unsent output
     * (queued packets + what the WebSocket still holds) the connection is cut.
     */
    this.onPacketCreate = function (this: EngineSocket, packet: { data?: unknown }) {
      guard.charge(this, packet.data);
    };
    /**
     * Engine.IO v4 takes any pong as a heartbeat and postpones its next ping, so a client
     * that sends pongs on its own is never found dead. A pong with no ping outstanding is
     * a protocol violation (the server pings, the client answers): the connection is closed.
     */
    this.onPacket = function (this: EngineSocket, packet: { type: string }) {
      if (packet.type === 'pong' && (this as unknown as EngineInternals).pingTimeoutTimer === null) guard.cut(this, 'pong without ping');
    };
  }

  private readonly onClose: (this: EngineSocket) => void;
  private readonly onPacketCreate: (this: EngineSocket, packet: { data?: unknown }) => void;
  private readonly onPacket: (this: EngineSocket, packet: { type: string }) => void;

  /** The client address of an HTTP request (handshake or upgrade), as every limit keys it. */
  addressOf(req: IncomingMessage): string {
    return clientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress, this.config.trustProxy);
  }

  /**
   * The limit address of an open connection, as read from its handshake request when it
   * opened (the request itself is not kept: socket-server.ts drops it for memory).
   */
  connAddress(conn: EngineSocket): string {
    return this.conns.get(conn)?.address ?? clientAddress(undefined, conn.remoteAddress, false);
  }

  /** For engine.io's allowRequest (new handshakes only): null = let it in. */
  refusal(req: IncomingMessage): RefusalReason | null {
    const t = this.config.transport;
    if (this.open >= t.maxConnections) return 'instance_full';
    const counts = this.perAddress.get(this.addressOf(req));
    if (!counts) return null;
    if (counts.open >= t.maxConnectionsPerAddress) return 'address_full';
    if (counts.pending >= t.maxPendingPerAddress) return 'too_many_pending';
    return null;
  }

  /** Hooks every Engine.IO connection of `io`. */
  attach(io: GuardedServer): void {
    io.engine.on('connection', (conn: EngineSocket) => this.onEngineConnection(conn));
    // A connection's writeBuffer went to the transport (the server's event, not one listener per connection).
    io.engine.on('drain', (conn: EngineSocket) => {
      const state = this.conns.get(conn);
      if (state) state.queued = 0;
    });
    // The Socket.IO connect went through: the session is no longer bare.
    io.on('connection', (socket) => this.settle(socket.conn));
  }

  private onEngineConnection(conn: EngineSocket): void {
    const read = this.addressOf(conn.request);
    const counts = this.perAddress.get(read) ?? { address: read, open: 0, pending: 0 };
    // One string per address, shared by its connections (and their sockets' data.ip).
    const address = counts.address;
    const state: ConnState = { address, pending: true, queued: 0, connectTimer: null, backoff: null };
    // Socket.IO's own connectTimeout closes politely, which for a long-polling session that
    // stopped polling waits 30 s more for a poll to answer; this one discards at once.
    state.connectTimer = setTimeout(() => this.cut(conn, 'connect timeout'), this.config.transport.connectTimeoutMs);
    state.connectTimer.unref();
    this.conns.set(conn, state);
    counts.open += 1;
    counts.pending += 1;
    this.perAddress.set(address, counts);
    this.open += 1;
    // Shared listeners (`this` = the connection), not closures: memory per idle connection.
    conn.on('packetCreate', this.onPacketCreate);
    conn.on('packet', this.onPacket);
    // `on`, not `once`: `close` comes once, and `once` would add a wrapper and its state per connection.
    conn.on('close', this.onClose);
  }

  private settle(conn: EngineSocket): void {
    const state = this.conns.get(conn);
    if (!state || !state.pending) return;
    state.pending = false;
    if (state.connectTimer) clearTimeout(state.connectTimer);
    state.connectTimer = null;
    const counts = this.perAddress.get(state.address);
    if (counts) counts.pending -= 1;
  }

  private release(conn: EngineSocket): void {
    const state = this.conns.get(conn);
    if (!state) return;
    this.conns.delete(conn);
    if (state.connectTimer) clearTimeout(state.connectTimer);
    this.open -= 1;
    const counts = this.perAddress.get(state.address);
    if (!counts) return;
    counts.open -= 1;
    if (state.pending) counts.pending -= 1;
    if (counts.open <= 0) this.perAddress.delete(state.address);
  }

  /**
   * Stops reading from a WebSocket connection for a while after one of its events was
   * refused by a flood budget (TCP flow control then holds the client's further events in
   * its own buffers). Every event read costs parsing even when refused, so a connection
   * refused again soon after is paused twice as long each time (250 ms up to 8 s): the
   * sockets that keep the server busy wait, the others are read on time. Long-polling
   * connections are not paused (each of their events is an HTTP request the client pays for).
   */
  pauseReading(conn: EngineSocket): void {
    const state = this.conns.get(conn);
    const ws = (conn as unknown as EngineInternals).transport.socket;
    if (!state || !ws?.pause || (state.backoff?.pausedUntil ?? 0) > 0) return;
    const b = (state.backoff ??= { strikes: 0, lastShedAt: -Infinity, pausedUntil: 0 });
    const now = performance.now();
    b.strikes = now - b.lastShedAt < 2 * PAUSE_MAX_MS ? Math.min(b.strikes + 1, PAUSE_STEPS) : 0;
    b.lastShedAt = now;
    const ms = PAUSE_MIN_MS * 2 ** b.strikes;
    b.pausedUntil = now + ms;
    // ws's own pause: a bare socket.pause() is undone by ws when its parser drains.
    ws.pause();
    setTimeout(() => {
      b.pausedUntil = 0;
      b.lastShedAt = performance.now();
      ws.resume?.();
    }, ms).unref();
  }

  private charge(conn: EngineSocket, data: unknown): void {
    const state = this.conns.get(conn);
    if (!state) return;
    state.queued += typeof data === 'string' ? data.length : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0;
    const ws = (conn as unknown as EngineInternals).transport.socket;
    const unsent = state.queued + (ws?.bufferedAmount ?? 0);
    if (unsent > this.config.transport.maxBufferedBytes) this.cut(conn, 'slow consumer');
  }

  /** Closes a connection at once, dropping what it has queued (its seat keeps its grace). */
  private cut(conn: EngineSocket, reason: 'slow consumer' | 'pong without ping' | 'connect timeout'): void {
    const state = this.conns.get(conn);
    if (!state || conn.readyState === 'closed') return;
    if (reason === 'connect timeout' && !state.pending) return;
    this.metrics.transportCuts.inc({ reason });
    this.log.debug({ address: state.address, reason, transport: conn.transport.name }, 'connection cut');
    const ws = (conn as unknown as EngineInternals).transport.socket;
    // discard = true: without it Engine.IO waits for the writeBuffer to drain, which a slow consumer never does.
    conn.close(true);
    // A WebSocket close waits for the peer's close frame (up to 30 s) with its buffers held; a peer that does not read will not send one.
    ws?.terminate?.();
  }
}

