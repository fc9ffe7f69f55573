/**
 * The store of record's tables as Kysely sees them (the migrations create them; this is
 * their type). Times are epoch milliseconds in BIGINT columns: the same numbers the
 * rooms use, no time-zone conversion in the database (stats bucket days in Node, in the
 * caller's zone). pg returns BIGINT as a string, PGlite as a number: read with Number().
 */
import type { ColumnType } from 'kysely';

type Millis = ColumnType<string | number, number, number>;

export interface RoundsTable {
  room_id: string;
  run_started_at: Millis;
  round: number;
  room_code: string;
  title: string | null;
  started_at: Millis;
  ended_at: Millis;
  planned_ms: number;
}

export interface RoundResultsTable {
  room_id: string;
  run_started_at: Millis;
  round: number;
  participant_id: string;
  identity: string | null;
  user_name: string;
  status: string;
  focused_ms: number;
  pauses: number;
  /** The round's end, copied here so an identity's history and stats read one table. */
  ended_at: Millis;
  /** What the participant set out to do when the round ended (migration 0003). */
  intention: ColumnType<string | null, string | null | undefined, string | null>;
  /** The recap given after the round: done | partly | not, and its note. */
  recap_outcome: ColumnType<string | null, string | null | undefined, string | null>;
  recap_note: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AttendanceTable {
  room_id: string;
  run_started_at: Millis;
  participant_id: string;
  identity: string | null;
  room_code: string;
  /** The booked start. */
  starts_at: Millis;
  /** 1 = connected at some moment in the no-show grace, 0 = a no-show. */
  attended: number;
}

export interface Database {
  rounds: RoundsTable;
  round_results: RoundResultsTable;
  attendance: AttendanceTable;
}
