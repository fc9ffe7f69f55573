/**
 * Cluster mode: each local socket gets every room event once, in `seq` order.
 *
 * Every packet the adapter writes to local sockets (a broadcast from this instance or one
 * read from Redis) passes `apply`, which picks the sockets; a room event (`seq` > 0) is
 * checked there against each socket's cursor, `socket.data.deliveredSeq` (set from the
 * snapshot when the socket takes its seat, seat.ts):
 * - `seq` ≤ cursor: a duplicate (pub/sub catching up after a fill, two paths after a
 *   failover, an event older than the socket's snapshot): dropped;
 * - `seq` = cursor + 1, or only events this socket is not meant to get in between (an
 *   `others` event about its own participant): written;
 * - a gap: the event is held and the gap filled from the room's history (store `history`),
 *   then the held events go out, in order.
 * Packets without `seq` (`time_update`, replies) cost one property read per packet, not
 * per socket. The same packets drive the local ticker (in `seq` order, once per room),
 * which is how a countdown changed on another instance reaches the ticks here.
 *
 * What pub/sub loses without a gap showing (nothing newer arrives) is found by the
 * periodic check (delivery-check.ts), which calls `repair`.
 */
import type { FastifyBaseLogger } from 'fastify';
import { audienceOf, EVENT_FACTS, SNAPSHOT_EVENTS, type ServerEventName } from '../contract/event-facts.js';
import type { RoomEventName, ServerToClientEvents, SessionSnapshot } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import { roomTimer, snapshot, timerOf } from '../domain/snapshot.js';
import type { Metrics } from '../metrics.js';
import type { Ticker } from '../realtime/ticker.js';
import { roomKey, type TypedServer, type TypedSocket } from '../realtime/types.js';
import type { RoomStore } from '../store/room-store.js';

/** Events read from the history per fill round (a fill loops while sockets are still behind). */
const FILL_BATCH = 256;
/** A fill that cannot read the store retries this often… */
const FILL_RETRY_MS = 250;
/** …for this long: then the events it held go out with their gap. */
const MAX_HOLD_MS = 5_000;
/** Held events newer than the history read: read again after this. */
const FILL_AGAIN_MS = 20;
/** `others` events remembered per room, to tell a socket's own skipped event from a gap. */
const SKIPS_KEPT = 128;

export type RepairCause = 'gap' | 'check' | 'resubscribe';

interface Packet {
  data?: unknown[];
}
interface BroadcastOptions {
  rooms: Set<string>;
}
type Apply = (opts: BroadcastOptions, callback: (socket: TypedSocket) => void) => void;
interface AdapterInternals {
  _encode(packet: Packet, opts: unknown): unknown;
  apply: Apply;
  rooms: Map<string, Set<string>>;
  on(event: 'join-room' | 'delete-room', listener: (room: string, id: string) => void): void;
}

interface Held {
  seq: number;
  write: () => void;
}

type HistoryRow = { seq: number; event: RoomEventName; data: Record<string, unknown> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

interface RoomState {
  /** Highest seq this instance has seen for the room: the ticker follows it. */
  latest: number;
  /** Recent `others` events: seq → the participant who does not get it. */
  skips: Map<number, string>;
  /** Newer events per socket id, waiting for a fill. */
  held: Map<string, Held[]>;
  filling: boolean;
  fillAgain: boolean;
  cause: RepairCause;
}

type Emit = (event: keyof ServerToClientEvents, payload: object) => void;

const isRoomEvent = (event: unknown): event is RoomEventName => typeof event === 'string' && EVENT_FACTS[event as ServerEventName]?.kind === 'room';

/** The focus room a broadcast addresses: `r:CODE` (roomKey) or `s:CODE:ID` (seatKey), realtime/types.ts. */
function codeOf(rooms: Set<string>): string | null {
  for (const r of rooms) {
    if (r.startsWith('r:')) return r.slice(2);
    if (r.startsWith('s:')) {
      const end = r.indexOf(':', 2);
      if (end > 2) return r.slice(2, end);
    }
  }
  return null;
}

export class DeliveryGate {
  private readonly rooms = new Map<string, RoomState>();
  private readonly nsp;

  constructor(
    private readonly io: TypedServer,
    private readonly store: RoomStore,
    private readonly ticker: Ticker,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
  ) {
    this.nsp = io.of('/');
    this.install(this.nsp.adapter as unknown as AdapterInternals);
  }

  /** Codes of the focus rooms with a socket on this instance. */
  localRooms(): string[] {
    const out: string[] = [];
    for (const key of this.nsp.adapter.rooms.keys()) if (key.startsWith('r:')) out.push(key.slice(2));
    return out;
  }

  /** The lowest cursor among the room's local sockets (null: none here). */
  lowestCursor(code: string): number | null {
    let low: number | null = null;
    for (const socket of this.socketsOf(code)) if (low === null || socket.data.deliveredSeq < low) low = socket.data.deliveredSeq;
    return low;
  }

  /** Brings the room's local sockets up to the store's newest event (from its history). */
  repair(code: string, cause: RepairCause): void {
    const state = this.stateOf(code);
    if (!state) return;
    this.requestFill(code, state, cause);
  }

  /** Forgets a room (closed as lost). */
  forget(code: string): void {
    this.rooms.delete(code);
  }

  private install(adapter: AdapterInternals): void {
    const encode = adapter._encode.bind(adapter);
    const apply = adapter.apply.bind(adapter);
    // `broadcast` encodes, then applies to the chosen sockets, in one synchronous step;
    // both are called through `this`, also when the cluster adapter delivers what it read.
    let current: Packet | null = null;
    adapter._encode = (packet, opts) => {
      current = packet;
      return encode(packet, opts);
    };
    adapter.apply = (opts, callback) => {
      const packet = current;
      current = null;
      const payload = packet?.data?.[1] as { seq?: unknown; participant_id?: unknown; session?: SessionSnapshot } | undefined;
      const seq = payload?.seq;
      if (typeof seq !== 'number' || seq <= 0 || !isRoomEvent(packet!.data![0])) return apply(opts, callback);
      const code = codeOf(opts.rooms);
      const state = code === null ? undefined : this.stateOf(code);
      if (code === null || !state) return apply(opts, callback);
      this.seen(code, state, packet!.data![0] as RoomEventName, seq, payload!);
      apply(opts, (socket) => this.offer(socket, code, state, seq, callback));
    };
    adapter.on('join-room', (room, id) => {
      if (!room.startsWith('r:')) return;
      const socket = this.nsp.sockets.get(id);
      const state = this.stateOf(room.slice(2));
      if (socket && state && socket.data.deliveredSeq > state.latest) state.latest = socket.data.deliveredSeq;
    });
    adapter.on('delete-room', (room) => {
      if (room.startsWith('r:')) this.rooms.delete(room.slice(2));
    });
  }

  /** The room's state, made on first use; undefined when no socket here is in the room. */
  private stateOf(code: string): RoomState | undefined {
    let state = this.rooms.get(code);
    if (!state && this.nsp.adapter.rooms.has(roomKey(code))) {
      state = { latest: this.lowestCursor(code) ?? 0, skips: new Map(), held: new Map(), filling: false, fillAgain: false, cause: 'gap' };
      for (const socket of this.socketsOf(code)) state.latest = Math.max(state.latest, socket.data.deliveredSeq);
      this.rooms.set(code, state);
    }
    return state;
  }

  /** Once per packet: the room's newest seq, its `others` skips, and the local ticker. */
  private seen(code: string, state: RoomState, event: RoomEventName, seq: number, payload: { participant_id?: unknown; session?: SessionSnapshot }): void {
    if (audienceOf(event) === 'others' && typeof payload.participant_id === 'string') {
      state.skips.set(seq, payload.participant_id);
      if (state.skips.size > SKIPS_KEPT) state.skips.delete(state.skips.keys().next().value!);
    }
    if (seq <= state.latest) return;
    state.latest = seq;
    if (event === 'room_closed') this.ticker.stop(code);
    else if (payload.session) this.ticker.sync(timerOf(payload.session));
  }

  /** Whether every seq strictly between `from` and `to` is one this participant is not sent. */
  private skippable(state: RoomState, participantId: string | null, from: number, to: number): boolean {
    if (to - from > SKIPS_KEPT) return false;
    for (let s = from + 1; s < to; s++) if (state.skips.get(s) !== participantId) return false;
    return true;
  }

  /** One room event for one socket: written, dropped or held. */
  private offer(socket: TypedSocket, code: string, state: RoomState, seq: number, write: (socket: TypedSocket) => void): void {
    const data = socket.data;
    // A socket not (or no longer) seated in this room: nothing to order against.
    if (data.roomCode !== code) return write(socket);
    if (seq <= data.deliveredSeq) {
      this.metrics.deliveryDuplicates.inc();
      return;
    }
    const held = state.held.get(socket.id);
    if (!held && (seq === data.deliveredSeq + 1 || this.skippable(state, data.participantId, data.deliveredSeq, seq))) {
      data.deliveredSeq = seq;
      return write(socket);
    }
    const entry = { seq, write: () => write(socket) };
    if (held) held.push(entry);
    else state.held.set(socket.id, [entry]);
    this.requestFill(code, state, 'gap');
  }

  private *socketsOf(code: string): Generator<TypedSocket> {
    for (const id of this.nsp.adapter.rooms.get(roomKey(code)) ?? []) {
      const socket = this.nsp.sockets.get(id);
      if (socket && socket.data.roomCode === code) yield socket;
    }
  }

  private requestFill(code: string, state: RoomState, cause: RepairCause): void {
    if (state.filling) {
      state.fillAgain = true;
      return;
    }
    state.filling = true;
    state.cause = cause;
    void this.fill(code, state).finally(() => {
      state.filling = false;
    });
  }

  /** Reads what the room's local sockets miss and sends it, then what they held. */
  private async fill(code: string, state: RoomState): Promise<void> {
    const started = this.clock.now();
    for (;;) {
      state.fillAgain = false;
      const sockets = [...this.socketsOf(code)];
      if (sockets.length === 0) {
        state.held.clear();
        return;
      }
      const from = Math.min(...sockets.map((s) => s.data.deliveredSeq));
      let room: Room | null;
      let events: HistoryRow[];
      try {
        const [r, history] = await Promise.all([this.store.get(code), this.store.history(code, from, FILL_BATCH)]);
        room = r;
        events = (history?.events ?? []) as HistoryRow[];
      } catch (err) {
        if (this.clock.now() - started > MAX_HOLD_MS) {
          this.log.warn({ err, room: code }, 'room history unreadable: held events sent with their gap');
          this.flushHeld(code, state, true);
          return;
        }
        await sleep(FILL_RETRY_MS);
        continue;
      }
      // The room is gone: closing it is the lost-room check's (delivery-check.ts).
      if (!room) {
        this.flushHeld(code, state, true);
        return;
      }
      const sent = this.deliverHistory(room, sockets, events);
      if (sent > 0) {
        this.metrics.deliveryRepairs.inc({ cause: state.cause });
        this.log.info({ room: code, events: sent, cause: state.cause }, 'room events sent from history to sockets that missed them');
      }
      if (room.seq > state.latest) {
        state.latest = room.seq;
        this.ticker.sync(roomTimer(room));
      }
      if (events.length === FILL_BATCH) continue;
      this.flushHeld(code, state, false);
      // Still held at or below the room's seq: the history lacks what came before them
      // (trimmed, or the last writes of a failed-over master): they go out with their gap.
      if (this.lowestHeld(state) <= room.seq || this.clock.now() - started > MAX_HOLD_MS) this.flushHeld(code, state, true);
      if (state.held.size === 0 && !state.fillAgain) return;
      // Held events newer than what was read: their predecessors were committed after it.
      if (!state.fillAgain) await sleep(FILL_AGAIN_MS);
    }
  }

  /** Sends each socket the history events after its cursor, as the broadcaster would have. */
  private deliverHistory(room: Room, sockets: TypedSocket[], events: HistoryRow[]): number {
    const now = this.clock.now();
    let sent = 0;
    for (const socket of sockets) {
      const viewer = socket.data.participantId;
      let view: SessionSnapshot | null = null;
      for (const e of events) {
        if (e.seq <= socket.data.deliveredSeq || e.seq > room.seq) continue;
        socket.data.deliveredSeq = e.seq;
        if (audienceOf(e.event) === 'others' && e.data.participant_id === viewer) continue;
        const data = SNAPSHOT_EVENTS.has(e.event) ? { ...e.data, seq: e.seq, session: (view ??= snapshot(room, now, viewer)) } : { ...e.data, seq: e.seq };
        (socket.emit.bind(socket) as Emit)(e.event, data);
        sent++;
      }
    }
    return sent;
  }

  /** Sends held events that no longer have a gap before them (all of them when `force`). */
  private flushHeld(code: string, state: RoomState, force: boolean): void {
    for (const [id, held] of [...state.held]) {
      // A socket gone or no longer seated here meanwhile gets none of them.
      const found = this.nsp.sockets.get(id);
      const socket = found?.data.roomCode === code ? found : undefined;
      held.sort((a, b) => a.seq - b.seq);
      let i = 0;
      for (; i < held.length; i++) {
        const h = held[i]!;
        if (!socket) continue;
        const data = socket.data;
        if (h.seq <= data.deliveredSeq) {
          this.metrics.deliveryDuplicates.inc();
          continue;
        }
        if (!force && h.seq !== data.deliveredSeq + 1 && !this.skippable(state, data.participantId, data.deliveredSeq, h.seq)) break;
        data.deliveredSeq = h.seq;
        h.write();
      }
      if (i >= held.length) state.held.delete(id);
      else state.held.set(id, held.slice(i));
    }
  }

  private lowestHeld(state: RoomState): number {
    let low = Number.POSITIVE_INFINITY;
    for (const held of state.held.values()) for (const h of held) low = Math.min(low, h.seq);
    return low;
  }
}
