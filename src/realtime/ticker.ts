/**
 * `time_update` ticks for this instance's own sockets. One self-correcting timer per
 * room, aligned to the room's `ends_at`: each tick is scheduled for the instant
 * `time_left_ms` crosses a whole second, so lateness never accumulates and every
 * instance ticking the same room sends the same second. Ticks never touch the store
 * or Redis (`io.local`), and each tick is encoded once per room.
 *
 * The hot path (one `fire` per room per second) is kept lean — bench/ measures it
 * (docs/performance.md): the room's Socket.IO room names are built once per countdown,
 * the timer takes the entry as its argument instead of a fresh closure, and the tick
 * goes out through room-frame.ts: one encode and one WebSocket frame per room, one
 * buffer written to each socket's TCP stream — the bytes Socket.IO's
 * `io.local.to(room).except(quiet).emit()` would send, without Engine.IO's per-socket
 * packet, events and write callback.
 *
 * A crowd of ticks due together (2,500 rooms booked for one instant tick in lockstep, every
 * second of their countdown) does not hold up the rooms that are not part of it: at most
 * `CROWD_PER_TURN` ticks go out in one turn of the event loop; the rest wait, grouped by
 * the millisecond they were due (small groups first, then the crowds in due order), and
 * go out in slices of at most `CROWD_SLICE_MS` per turn, so the timers of other rooms due
 * meanwhile (and socket I/O) run between the slices. The crowd's own ticks go out late (by
 * up to its whole cost, ~30 µs per tick: 75 ms for 2,500), as all but the first would have
 * anyway; their payload is unchanged (the whole second), and their lateness is observed
 * like any other tick's. docs/performance.md ("Booked rooms' ticks").
 *
 * Quiet sockets (`set_ticks { enabled: false }`) sit in a second Socket.IO room per focus
 * room (`q:<code>`) that the broadcast excepts: a ticking-only room pays one map lookup
 * for it, and a room whose local sockets are all quiet has no timer at all.
 */
import { performance } from 'node:perf_hooks';
import type { TimeUpdatePayload } from '../contract/events.js';
import type { RoomTimer } from '../domain/snapshot.js';
import type { Clock } from '../domain/clock.js';
import { emitToRoom } from './room-frame.js';
import { quietKey, roomKey, type TypedServer } from './types.js';

type Namespace = TypedServer['sockets'];

/**
 * Ticks sent in one turn of the event loop before the rest wait as a crowd: ~1 ms of
 * writes. Rooms started at random moments are ~3 per ms at 10,000 connections, so only a
 * real crowd (or the backlog of a long stall) reaches it.
 */
export const CROWD_PER_TURN = 32;
/** Sends counted before a reset of the count is scheduled (see `fire`). */
const COUNT_RESET = 8;
/** A crowd's work per turn of the event loop. */
export const CROWD_SLICE_MS = 1;

interface Entry {
  code: string;
  timer: RoomTimer;
  handle: NodeJS.Timeout | null;
  /** Socket.IO room of the focus room (`r:<code>`), and of its quiet sockets (`q:<code>`). */
  key: string;
  quiet: string;
  /** The whole second (of time left) the pending timer will announce, and when it is due. */
  k: number;
  dueAt: number;
}

export class Ticker {
  private readonly rooms = new Map<string, Entry>();
  private readonly nsp: Namespace;
  /**
   * Pending ticks per due millisecond, and those milliseconds in a min-heap (emptied
   * ones dropped lazily): `tickDue()` answers "is a tick due now?" in O(1) amortized,
   * so a burst of other work (2,500 scheduled starts) can yield the moment one is.
   */
  private readonly dueCount = new Map<number, number>();
  private readonly dueHeap: number[] = [];
  /** Ticks sent in this turn of the event loop, give or take COUNT_RESET (see `fire`). */
  private sentThisTurn = 0;
  /**
   * Ticks waiting for a slice, grouped by the millisecond they were due (in due order):
   * a crowd is one big group; a room due a moment later whose timer fired in the same
   * turn (the crowd's own timers took that long) is a small group, and goes first.
   */
  private readonly waiting = new Map<number, { entries: Entry[]; head: number }>();
  private waitingCount = 0;
  private crowdDrain: NodeJS.Immediate | null = null;

  constructor(
    io: TypedServer,
    private readonly clock: Clock,
    private readonly onLateness: (ms: number) => void,
  ) {
    this.nsp = io.sockets;
  }

  /** Align to a room's countdown; idempotent, and a no-op when nothing changed. */
  sync(timer: RoomTimer): void {
    const code = timer.room_code;
    const current = this.rooms.get(code);
    if (current && current.timer.status === timer.status && current.timer.ends_at === timer.ends_at && current.timer.phase === timer.phase) return;
    this.stop(code);
    const key = roomKey(code);
    const quiet = quietKey(code);
    if (timer.status !== 'active' || timer.ends_at === null || !this.hasTickingSockets(key, quiet)) return;
    const entry: Entry = { code, timer, handle: null, key, quiet, k: 0, dueAt: 0 };
    this.rooms.set(code, entry);
    this.scheduleNext(entry, Number.MAX_SAFE_INTEGER);
  }

  stop(code: string): void {
    const entry = this.rooms.get(code);
    if (!entry) return;
    if (entry.handle) {
      clearTimeout(entry.handle);
      this.unpend(entry.dueAt);
    }
    this.rooms.delete(code);
  }

  /** Whether some tick's time has come and it has not gone out yet. */
  tickDue(now = this.clock.now()): boolean {
    const heap = this.dueHeap;
    while (heap.length > 0 && !this.dueCount.has(heap[0]!)) heapPop(heap);
    return heap.length > 0 && heap[0]! <= now;
  }

  private pend(at: number): void {
    const n = this.dueCount.get(at);
    if (n === undefined) {
      this.dueCount.set(at, 1);
      heapPush(this.dueHeap, at);
    } else this.dueCount.set(at, n + 1);
  }

  private unpend(at: number): void {
    const n = this.dueCount.get(at);
    if (n === undefined) return;
    if (n <= 1) this.dueCount.delete(at);
    else this.dueCount.set(at, n - 1);
  }

  stopAll(): void {
    for (const code of [...this.rooms.keys()]) this.stop(code);
    this.waiting.clear();
    this.waitingCount = 0;
    if (this.crowdDrain) clearImmediate(this.crowdDrain);
    this.crowdDrain = null;
  }

  get size(): number {
    return this.rooms.size;
  }

  /**
   * Schedules the next whole second strictly below `belowK` (so a timer that fires a
   * millisecond early can never repeat a second) and at or below what is left now
   * (so a stalled event loop skips missed seconds instead of bursting them).
   */
  private scheduleNext(entry: Entry, belowK: number): void {
    const endsAt = entry.timer.ends_at!;
    const now = this.clock.now();
    const k = Math.min(belowK - 1, Math.ceil((endsAt - now) / 1000) - 1);
    // The last second (0) is announced by `session_completed`, not by a tick.
    if (k < 1) {
      this.rooms.delete(entry.code);
      return;
    }
    entry.k = k;
    entry.dueAt = endsAt - k * 1000;
    this.pend(entry.dueAt);
    entry.handle = setTimeout(this.fire, Math.max(0, entry.dueAt - now), entry);
  }

  /** The timer callback: an arrow property, so one function serves every room and tick. */
  private readonly fire = (entry: Entry): void => {
    if (this.rooms.get(entry.code) !== entry) return;
    this.unpend(entry.dueAt);
    entry.handle = null;
    if (this.sentThisTurn >= CROWD_PER_TURN) {
      // A crowd: this tick waits for a slice. Ticks of other rooms coming due later still
      // go first (they are below CROWD_PER_TURN in their own turn). A waiting tick no
      // longer counts for tickDue(): a burst of starts need not yield to a crowd.
      const group = this.waiting.get(entry.dueAt);
      if (group) group.entries.push(entry);
      else this.waiting.set(entry.dueAt, { entries: [entry], head: 0 });
      this.waitingCount += 1;
      this.crowdDrain ??= setImmediate(this.drainCrowd);
      return;
    }
    // The count is reset at the end of the turn in which it reaches COUNT_RESET, not of
    // every turn: an immediate per turn that sends a tick cost ~5 % more CPU per tick and
    // a higher p99 (bench ticks, 8,000 connections). So a turn may start with up to
    // COUNT_RESET − 1 sends counted from earlier turns, and defers after 25 to 32.
    this.sentThisTurn += 1;
    if (this.sentThisTurn === COUNT_RESET) setImmediate(this.newTurn);
    this.send(entry);
  };

  private readonly newTurn = (): void => {
    this.sentThisTurn = 0;
  };

  /** One slice of the waiting ticks; the rest wait for the next turn (after its timers and I/O). */
  private readonly drainCrowd = (): void => {
    this.crowdDrain = null;
    const start = performance.now();
    // The small groups first (rooms that are not part of a crowd), then the crowds in due order.
    if (this.drainGroups(true, start)) this.drainGroups(false, start);
    if (this.waitingCount > 0) this.crowdDrain = setImmediate(this.drainCrowd);
  };

  /** Sends the waiting ticks of the small groups (or of all) until the slice is over; false if it is. */
  private drainGroups(smallOnly: boolean, start: number): boolean {
    for (const [at, group] of this.waiting) {
      const { entries } = group;
      if (smallOnly && entries.length - group.head > CROWD_PER_TURN) continue;
      while (group.head < entries.length) {
        const entry = entries[group.head]!;
        entries[group.head++] = undefined as unknown as Entry;
        this.waitingCount -= 1;
        // A room stopped or re-synced meanwhile has a new entry (or none): its tick is gone.
        if (this.rooms.get(entry.code) === entry && entry.handle === null) this.send(entry);
        if (performance.now() - start >= CROWD_SLICE_MS) {
          if (group.head >= entries.length) this.waiting.delete(at);
          return false;
        }
      }
      this.waiting.delete(at);
    }
    return true;
  }

  private send(entry: Entry): void {
    if (!this.hasTickingSockets(entry.key, entry.quiet)) {
      this.rooms.delete(entry.code);
      return;
    }
    const now = this.clock.now();
    this.onLateness(Math.max(0, now - entry.dueAt));
    const timeLeft = entry.k * 1000;
    const timer = entry.timer;
    const payload: TimeUpdatePayload = {
      time_left_ms: timeLeft,
      elapsed: timer.phase_duration - timeLeft,
      ends_at: timer.ends_at!,
      server_now: now,
      phase: timer.phase,
      round: timer.round,
    };
    emitToRoom(this.nsp, entry.key, entry.quiet, 'time_update', payload);
    this.scheduleNext(entry, entry.k);
  }

  /** Local sockets of the room that want ticks (quiet ones are a subset of the room). */
  private hasTickingSockets(key: string, quiet: string): boolean {
    const rooms = this.nsp.adapter.rooms;
    return (rooms.get(key)?.size ?? 0) > (rooms.get(quiet)?.size ?? 0);
  }
}

/** A binary min-heap of numbers in an array. */
function heapPush(h: number[], v: number): void {
  h.push(v);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent]! <= v) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = v;
}

function heapPop(h: number[]): void {
  const last = h.pop()!;
  if (h.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const r = l + 1;
    const c = r < h.length && h[r]! < h[l]! ? r : l;
    if (h[c]! >= last) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
}
