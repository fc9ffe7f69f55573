/**
 * A room's history in memory (single-instance mode): the last `LIMITS.roomHistorySize`
 * events, appended in the same synchronous step as the change, so history and state never
 * disagree. `droppedThrough` is the seq of the newest event trimmed away (0: none yet),
 * which is what makes `complete` exact. Redis keeps the same thing in a Stream.
 */
import type { HistoryEvent, MissedEvent, RoomHistory } from '../contract/events.js';
import { LIMITS } from '../contract/limits.js';

export class BoundedRoomLog {
  private entries: HistoryEvent[] = [];
  private droppedThrough = 0;

  constructor(private readonly capacity: number = LIMITS.roomHistorySize) {}

  append(events: readonly MissedEvent[], at: number): void {
    for (const e of events) this.entries.push({ seq: e.seq, event: e.event, data: e.data, at });
    const excess = this.entries.length - this.capacity;
    if (excess > 0) {
      this.droppedThrough = this.entries[excess - 1]!.seq;
      this.entries = this.entries.slice(excess);
    }
  }

  read(afterSeq: number, limit: number): RoomHistory {
    // Seqs are contiguous, so the first entry after `afterSeq` is found by arithmetic.
    const first = this.entries[0]?.seq ?? Number.POSITIVE_INFINITY;
    const from = Math.max(0, afterSeq + 1 - first);
    return { events: this.entries.slice(from, from + limit), complete: afterSeq >= this.droppedThrough };
  }
}
