/**
 * What the store of record keeps of one booked run's attendance (no-show.ts): who held a
 * seat when the no-show grace ended and whether they came. Written once per run, also for
 * a room nobody attended (which writes no round), so attendance counts every booking.
 * The natural key is (room_id, run_started_at, participant_id).
 */
export interface AttendanceSeat {
  participant_id: string;
  /** 'sub:…' or 'key:…' (identity.ts); null = anonymous. Never sent in a webhook. */
  identity: string | null;
  user_name: string;
  attended: boolean;
}

export interface AttendanceRecord {
  room_id: string;
  room_code: string;
  title: string | null;
  /** The booked start (`starts_at`). */
  starts_at: number;
  run_started_at: number;
  /** When the grace ended and this was decided. */
  decided_at: number;
  seats: AttendanceSeat[];
}
