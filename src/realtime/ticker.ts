/**
 * `time_update` ticks for this instance's own sockets. One self-correcting timer per
 * room, aligned to the room's `ends_at`: each tick is scheduled for the instant
 * `time_left_ms` crosses a whole second, so lateness never accumulates and every
 * instance ticking the same room sends the same second. Ticks never touch the store
 * or Redis (`io.local`), and each tick is encoded once per room.
 */
import type { RoomTimer, TimeUpdatePayload } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import { roomKey, type TypedServer } from './types.js';

interface Entry {
  timer: RoomTimer;
  handle: NodeJS.Timeout | null;
}

export class Ticker {
  private readonly rooms = new Map<string, Entry>();

  constructor(
    private readonly io: TypedServer,
    private readonly clock: Clock,
    private readonly onLateness: (ms: number) => void,
  ) {}

  /** Align to a room's countdown; idempotent, and a no-op when nothing changed. */
  sync(timer: RoomTimer): void {
    const code = timer.room_code;
    const current = this.rooms.get(code);
    if (current && current.timer.status === timer.status && current.timer.ends_at === timer.ends_at && current.timer.phase === timer.phase) return;
    this.stop(code);
    if (timer.status !== 'active' || timer.ends_at === null || !this.hasLocalSockets(code)) return;
    const entry: Entry = { timer, handle: null };
    this.rooms.set(code, entry);
    this.scheduleNext(code, entry, Number.MAX_SAFE_INTEGER);
  }

  stop(code: string): void {
    const entry = this.rooms.get(code);
    if (!entry) return;
    if (entry.handle) clearTimeout(entry.handle);
    this.rooms.delete(code);
  }

  stopAll(): void {
    for (const code of [...this.rooms.keys()]) this.stop(code);
  }

  get size(): number {
    return this.rooms.size;
  }

  /**
   * Schedules the next whole second strictly below `belowK` (so a timer that fires a
   * millisecond early can never repeat a second) and at or below what is left now
   * (so a stalled event loop skips missed seconds instead of bursting them).
   */
  private scheduleNext(code: string, entry: Entry, belowK: number): void {
    const endsAt = entry.timer.ends_at!;
    const now = this.clock.now();
    const k = Math.min(belowK - 1, Math.ceil((endsAt - now) / 1000) - 1);
    // The last second (0) is announced by `session_completed`, not by a tick.
    if (k < 1) {
      this.rooms.delete(code);
      return;
    }
    const dueAt = endsAt - k * 1000;
    entry.handle = setTimeout(() => this.fire(code, entry, k, dueAt), Math.max(0, dueAt - now));
  }

  private fire(code: string, entry: Entry, k: number, dueAt: number): void {
    if (this.rooms.get(code) !== entry) return;
    if (!this.hasLocalSockets(code)) {
      this.rooms.delete(code);
      return;
    }
    const now = this.clock.now();
    this.onLateness(Math.max(0, now - dueAt));
    const timeLeft = k * 1000;
    const payload: TimeUpdatePayload = {
      time_left_ms: timeLeft,
      elapsed: entry.timer.phase_duration - timeLeft,
      ends_at: entry.timer.ends_at!,
      server_now: now,
      phase: entry.timer.phase,
      round: entry.timer.round,
    };
    this.io.local.to(roomKey(code)).emit('time_update', payload);
    this.scheduleNext(code, entry, k);
  }

  private hasLocalSockets(code: string): boolean {
    return (this.io.of('/').adapter.rooms.get(roomKey(code))?.size ?? 0) > 0;
  }
}
