/** The booking index in this process's memory: single-instance mode. Synchronous, so atomic. */
import type { Window } from '../domain/schedule.js';
import { overlaps } from '../domain/schedule.js';
import { type BookingEntry, type BookingIndex, bySoonest } from './booking-index.js';

export class MemoryBookingIndex implements BookingIndex {
  /**
   * Per identity its entries, in the order written. An array, not a Map: nearly every
   * identity holds one entry, and a one-entry Map costs about 130 bytes more — per seated
   * participant (docs/performance.md, memory).
   */
  private readonly byIdentity = new Map<string, BookingEntry[]>();

  /** The identity's entries, those whose window has ended dropped. */
  private live(identity: string, now: number): BookingEntry[] {
    const entries = this.byIdentity.get(identity);
    if (!entries) return [];
    let kept = 0;
    for (const e of entries) if (e.end > now) entries[kept++] = e;
    entries.length = kept;
    return entries;
  }

  /** Records `entry` in place of the same room's. A first entry starts a one-slot array (`[]` and push would reserve 17). */
  private put(identity: string, entry: BookingEntry): void {
    const entries = this.byIdentity.get(identity);
    if (!entries || entries.length === 0) {
      this.byIdentity.set(identity, [entry]);
      return;
    }
    const i = entries.findIndex((e) => e.room === entry.room);
    if (i >= 0) entries[i] = entry;
    else entries.push(entry);
  }

  async book(identity: string, room: string, window: Window, now: number): Promise<BookingEntry | null> {
    for (const e of this.live(identity, now)) if (e.room !== room && overlaps(e, window)) return { ...e };
    this.put(identity, { room, start: window.start, end: window.end, at: now });
    return null;
  }

  async bookMany(identity: string, wanted: { room: string; window: Window }[], now: number): Promise<{ wanted: string; entry: BookingEntry } | null> {
    const entries = this.live(identity, now);
    const rooms = new Set(wanted.map((w) => w.room));
    for (const w of [...wanted].sort((a, b) => a.window.start - b.window.start)) {
      for (const e of entries) if (!rooms.has(e.room) && overlaps(e, w.window)) return { wanted: w.room, entry: { ...e } };
    }
    for (const w of wanted) this.put(identity, { room: w.room, start: w.window.start, end: w.window.end, at: now });
    return null;
  }

  async release(identity: string, room: string, ifAt?: number): Promise<void> {
    const entries = this.byIdentity.get(identity);
    const i = entries ? entries.findIndex((e) => e.room === room) : -1;
    if (!entries || i < 0 || (ifAt !== undefined && entries[i]!.at !== ifAt)) return;
    entries.splice(i, 1);
    if (entries.length === 0) this.byIdentity.delete(identity);
  }

  async list(identity: string, now: number): Promise<BookingEntry[]> {
    const entries = this.live(identity, now);
    if (entries.length === 0) this.byIdentity.delete(identity);
    return entries.map((e) => ({ ...e })).sort(bySoonest);
  }
}
