/** The booking index in this process's memory: single-instance mode. Synchronous, so atomic. */
import type { Window } from '../domain/schedule.js';
import { overlaps } from '../domain/schedule.js';
import { type BookingEntry, type BookingIndex, bySoonest } from './booking-index.js';

export class MemoryBookingIndex implements BookingIndex {
  private readonly byIdentity = new Map<string, Map<string, BookingEntry>>();

  private live(identity: string, now: number): Map<string, BookingEntry> {
    const entries = this.byIdentity.get(identity) ?? new Map<string, BookingEntry>();
    for (const [room, e] of entries) if (e.end <= now) entries.delete(room);
    return entries;
  }

  async book(identity: string, room: string, window: Window, now: number): Promise<BookingEntry | null> {
    const entries = this.live(identity, now);
    for (const e of entries.values()) if (e.room !== room && overlaps(e, window)) return { ...e };
    entries.set(room, { room, start: window.start, end: window.end, at: now });
    this.byIdentity.set(identity, entries);
    return null;
  }

  async bookMany(identity: string, wanted: { room: string; window: Window }[], now: number): Promise<{ wanted: string; entry: BookingEntry } | null> {
    const entries = this.live(identity, now);
    const rooms = new Set(wanted.map((w) => w.room));
    for (const w of [...wanted].sort((a, b) => a.window.start - b.window.start)) {
      for (const e of entries.values()) if (!rooms.has(e.room) && overlaps(e, w.window)) return { wanted: w.room, entry: { ...e } };
    }
    for (const w of wanted) entries.set(w.room, { room: w.room, start: w.window.start, end: w.window.end, at: now });
    this.byIdentity.set(identity, entries);
    return null;
  }

  async release(identity: string, room: string, ifAt?: number): Promise<void> {
    const entries = this.byIdentity.get(identity);
    const e = entries?.get(room);
    if (!entries || !e || (ifAt !== undefined && e.at !== ifAt)) return;
    entries.delete(room);
    if (entries.size === 0) this.byIdentity.delete(identity);
  }

  async list(identity: string, now: number): Promise<BookingEntry[]> {
    const entries = this.live(identity, now);
    if (entries.size === 0) this.byIdentity.delete(identity);
    return [...entries.values()].map((e) => ({ ...e })).sort(bySoonest);
  }
}
