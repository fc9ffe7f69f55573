/**
 * Reads and writes of the store of record. Every insert ignores a row whose natural key
 * (room, run, round, participant) is already there, so a record delivered twice (a
 * retried batch, a claim after a crash, two instances racing) is stored once.
 */
import { type Kysely, sql } from 'kysely';
import type { RecapOutcome } from '../contract/events.js';
import type { RecapRecord } from '../domain/outbox-entries.js';
import type { AttendanceRecord } from '../domain/attendance-record.js';
import type { RoundRecord } from '../domain/round-record.js';
import { BUCKET_MS, type StatsAggregate } from '../domain/stats.js';
import type { Database } from './schema.js';
import type { BatchStatement } from './sqlite-worker.js';

/**
 * The embedded store's insert of rounds and results: the same rows and conflict rule as the
 * Kysely statements below, as single-row statements its worker prepares once and runs in
 * one transaction (one message, nothing compiled on the event loop). Column lists must
 * match `insertRounds` and `insertAttendance`.
 */
const SQLITE_PUT_ROUND =
  'INSERT INTO rounds (room_id, run_started_at, round, room_code, title, started_at, ended_at, planned_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, run_started_at, round) DO NOTHING';
const SQLITE_PUT_ATTENDANCE =
  'INSERT INTO attendance (room_id, run_started_at, participant_id, identity, room_code, starts_at, attended) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, run_started_at, participant_id) DO NOTHING';
const SQLITE_PUT_RESULT =
  'INSERT INTO round_results (room_id, run_started_at, round, participant_id, identity, user_name, status, focused_ms, pauses, ended_at, intention) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, run_started_at, round, participant_id) DO NOTHING';

/** One row of an identity's results, as stats need it. */
export interface ResultRow {
  room_id: string;
  run_started_at: number;
  ended_at: number;
  status: string;
  focused_ms: number;
}

export interface HistoryItem {
  room_code: string;
  title: string | null;
  round: number;
  started_at: number;
  ended_at: number;
  planned_ms: number;
  result: {
    participant_id: string;
    user_name: string;
    status: string;
    focused_ms: number;
    pauses: number;
    intention: string | null;
    recap: { outcome: RecapOutcome; note: string | null } | null;
  };
}

/**
 * Bound parameters per statement: under the lower of PostgreSQL's 65,535 (a 16-bit count
 * in its protocol: above it a statement fails, always) and SQLite's 32,766
 * (SQLITE_MAX_VARIABLE_NUMBER), with room to spare.
 */
export const MAX_PARAMS_PER_STATEMENT = 30_000;

/** `rows` in slices of at most MAX_PARAMS_PER_STATEMENT parameters (one per column of a row). */
export function chunksFor<T extends object>(rows: T[]): T[][] {
  const columns = rows[0] ? Object.keys(rows[0]).length : 1;
  const size = Math.max(1, Math.floor(MAX_PARAMS_PER_STATEMENT / columns));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

export class ResultsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    /** The embedded store's one-message transactions (StoreOfRecord.batch); absent on PostgreSQL. */
    private readonly batch?: (statements: BatchStatement[]) => Promise<number[]>,
  ) {}

  /** Stores the rounds and their results in one transaction; repeats change nothing. Returns result rows inserted. */
  async insertRounds(records: RoundRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    if (this.batch) {
      const rounds: unknown[] = [];
      const results: unknown[] = [];
      for (const r of records) {
        rounds.push(r.room_id, r.run_started_at, r.round, r.room_code, r.title, r.started_at, r.ended_at, r.planned_ms);
        for (const p of r.results) {
          results.push(r.room_id, r.run_started_at, r.round, p.participant_id, p.identity, p.user_name, p.status, Math.round(p.focused_ms), p.pauses, r.ended_at, p.intention ?? null);
        }
      }
      const changes = await this.batch([
        { sql: SQLITE_PUT_ROUND, params: rounds, width: 8 },
        { sql: SQLITE_PUT_RESULT, params: results, width: 11 },
      ]);
      return changes[1] ?? 0;
    }
    return this.db.transaction().execute(async (tx) => {
      const rounds = records.map((r) => ({
        room_id: r.room_id,
        run_started_at: r.run_started_at,
        round: r.round,
        room_code: r.room_code,
        title: r.title,
        started_at: r.started_at,
        ended_at: r.ended_at,
        planned_ms: r.planned_ms,
      }));
      for (const chunk of chunksFor(rounds)) {
        await tx
          .insertInto('rounds')
          .values(chunk)
          .onConflict((oc) => oc.columns(['room_id', 'run_started_at', 'round']).doNothing())
          .execute();
      }
      const rows = records.flatMap((r) =>
        r.results.map((p) => ({
          room_id: r.room_id,
          run_started_at: r.run_started_at,
          round: r.round,
          participant_id: p.participant_id,
          identity: p.identity,
          user_name: p.user_name,
          status: p.status,
          focused_ms: Math.round(p.focused_ms),
          pauses: p.pauses,
          ended_at: r.ended_at,
          // Records queued before intentions existed have none.
          intention: p.intention ?? null,
        })),
      );
      let inserted = 0;
      for (const chunk of chunksFor(rows)) {
        const res = await tx
          .insertInto('round_results')
          .values(chunk)
          .onConflict((oc) => oc.columns(['room_id', 'run_started_at', 'round', 'participant_id']).doNothing())
          .executeTakeFirst();
        inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      return inserted;
    });
  }

  /**
   * Puts recaps on their round's result rows, in order (a later recap of the same round
   * replaces an earlier one). A row not there (erased, or never written) takes none.
   */
  async applyRecaps(recaps: RecapRecord[]): Promise<number> {
    if (recaps.length === 0) return 0;
    return this.db.transaction().execute(async (tx) => {
      let updated = 0;
      for (const r of recaps) {
        const res = await tx
          .updateTable('round_results')
          .set({ recap_outcome: r.outcome, recap_note: r.note })
          .where('room_id', '=', r.room_id)
          .where('run_started_at', '=', r.run_started_at)
          .where('round', '=', r.round)
          .where('participant_id', '=', r.participant_id)
          .executeTakeFirst();
        updated += Number(res.numUpdatedRows ?? 0);
      }
      return updated;
    });
  }

  /** One row per booked seat of each run; repeats change nothing. */
  async insertAttendance(records: AttendanceRecord[]): Promise<number> {
    const rows = records.flatMap((a) =>
      a.seats.map((s) => ({
        room_id: a.room_id,
        run_started_at: a.run_started_at,
        participant_id: s.participant_id,
        identity: s.identity,
        room_code: a.room_code,
        starts_at: a.starts_at,
        attended: s.attended ? 1 : 0,
      })),
    );
    if (rows.length === 0) return 0;
    if (this.batch) {
      const params: unknown[] = [];
      for (const r of rows) params.push(r.room_id, r.run_started_at, r.participant_id, r.identity, r.room_code, r.starts_at, r.attended);
      return (await this.batch([{ sql: SQLITE_PUT_ATTENDANCE, params, width: 7 }]))[0] ?? 0;
    }
    return this.db.transaction().execute(async (tx) => {
      let inserted = 0;
      for (const chunk of chunksFor(rows)) {
        const res = await tx
          .insertInto('attendance')
          .values(chunk)
          .onConflict((oc) => oc.columns(['room_id', 'run_started_at', 'participant_id']).doNothing())
          .executeTakeFirst();
        inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      return inserted;
    });
  }

  /** Attendance over the identity's last `limit` booked sessions (newest by booked start). */
  async attendanceOf(identity: string, limit: number): Promise<{ booked: number; attended: number; no_shows: number }> {
    const rows = await this.db.selectFrom('attendance').select(['attended']).where('identity', '=', identity).orderBy('starts_at', 'desc').limit(limit).execute();
    const attended = rows.filter((r) => Number(r.attended) === 1).length;
    return { booked: rows.length, attended, no_shows: rows.length - attended };
  }

  /**
   * One identity's stats, summed in the database (docs/persistence.md "Stats"): totals,
   * the quarter-hour buckets with a completed round, and focus per bucket since `since`.
   * What comes back is bounded by the time the history spans, not by its rows; the
   * caller folds the buckets into days in its time zone (domain/stats.ts). Integer
   * arithmetic only, so PostgreSQL and SQLite compute the same.
   */
  async statsOf(identity: string, since: number): Promise<StatsAggregate> {
    const bucket = sql<number>`ended_at / ${sql.lit(BUCKET_MS)}`;
    const [totals, completed, focus] = await Promise.all([
      this.db
        .selectFrom('round_results')
        .select([
          sql<string | number | null>`sum(focused_ms)`.as('focused_ms'),
          sql<string | number | null>`sum(case when status = 'completed' then 1 else 0 end)`.as('completed'),
          sql<string | number | null>`sum(case when status = 'failed' then 1 else 0 end)`.as('failed'),
          sql<string | number>`count(distinct room_id || ':' || cast(run_started_at as text))`.as('sessions'),
        ])
        .where('identity', '=', identity)
        .executeTakeFirstOrThrow(),
      this.db.selectFrom('round_results').select(bucket.as('bucket')).where('identity', '=', identity).where('status', '=', 'completed').groupBy(bucket).execute(),
      this.db
        .selectFrom('round_results')
        .select([bucket.as('bucket'), sql<string | number>`sum(focused_ms)`.as('focused_ms')])
        .where('identity', '=', identity)
        .where('ended_at', '>=', since)
        .groupBy(bucket)
        .execute(),
    ]);
    return {
      focused_ms: Number(totals.focused_ms ?? 0),
      rounds_completed: Number(totals.completed ?? 0),
      rounds_failed: Number(totals.failed ?? 0),
      sessions: Number(totals.sessions),
      completedBuckets: completed.map((r) => Number(r.bucket)),
      focusBuckets: focus.map((r) => ({ bucket: Number(r.bucket), focused_ms: Number(r.focused_ms) })),
    };
  }

  /** Every result of one identity, oldest first (tests compare statsOf with it). */
  async resultsOf(identity: string): Promise<ResultRow[]> {
    const rows = await this.db
      .selectFrom('round_results')
      .select(['room_id', 'run_started_at', 'ended_at', 'status', 'focused_ms'])
      .where('identity', '=', identity)
      .orderBy('ended_at', 'asc')
      .execute();
    return rows.map((r) => ({ ...r, run_started_at: Number(r.run_started_at), ended_at: Number(r.ended_at) }));
  }

  /** One identity's rounds, newest first, ending before `before` (epoch ms). */
  async historyOf(identity: string, before: number, limit: number): Promise<HistoryItem[]> {
    const rows = await this.db
      .selectFrom('round_results as r')
      .innerJoin('rounds as d', (j) => j.onRef('d.room_id', '=', 'r.room_id').onRef('d.run_started_at', '=', 'r.run_started_at').onRef('d.round', '=', 'r.round'))
      .select([
        'd.room_code',
        'd.title',
        'd.round',
        'd.started_at',
        'd.ended_at',
        'd.planned_ms',
        'r.participant_id',
        'r.user_name',
        'r.status',
        'r.focused_ms',
        'r.pauses',
        'r.intention',
        'r.recap_outcome',
        'r.recap_note',
      ])
      .where('r.identity', '=', identity)
      .where('r.ended_at', '<', before)
      .orderBy('r.ended_at', 'desc')
      .orderBy('r.room_id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      room_code: r.room_code,
      title: r.title,
      round: r.round,
      started_at: Number(r.started_at),
      ended_at: Number(r.ended_at),
      planned_ms: r.planned_ms,
      result: {
        participant_id: r.participant_id,
        user_name: r.user_name,
        status: r.status,
        focused_ms: r.focused_ms,
        pauses: r.pauses,
        intention: r.intention,
        recap: r.recap_outcome ? { outcome: r.recap_outcome as RecapOutcome, note: r.recap_note } : null,
      },
    }));
  }

  /** Erases every result of one identity; returns how many rows went. */
  async erase(identity: string): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const counted = await tx
        .selectFrom('round_results')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('identity', '=', identity)
        .executeTakeFirstOrThrow();
      // The identity's rounds that no one else took part in go with it (room code, title,
      // times); a round shared with others stays for them, without the identity's result.
      await sql`delete from rounds where exists (
          select 1 from round_results r where r.room_id = rounds.room_id and r.run_started_at = rounds.run_started_at and r.round = rounds.round and r.identity = ${identity}
        ) and not exists (
          select 1 from round_results r where r.room_id = rounds.room_id and r.run_started_at = rounds.run_started_at and r.round = rounds.round and (r.identity is null or r.identity <> ${identity})
        )`.execute(tx);
      await tx.deleteFrom('round_results').where('identity', '=', identity).execute();
      await tx.deleteFrom('attendance').where('identity', '=', identity).execute();
      return Number(counted.n);
    });
  }

  async countResults(): Promise<number> {
    const row = await this.db.selectFrom('round_results').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
