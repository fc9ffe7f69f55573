/**
 * Reads and writes of the store of record. Every insert ignores a row whose natural key
 * (room, run, round, participant) is already there, so a record delivered twice (a
 * retried batch, a claim after a crash, two instances racing) is stored once.
 */
import type { Kysely } from 'kysely';
import type { RoundRecord } from '../domain/round-record.js';
import type { Database } from './schema.js';

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
  result: { participant_id: string; user_name: string; status: string; focused_ms: number; pauses: number };
}

export class ResultsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores the rounds and their results in one transaction; repeats change nothing. Returns result rows inserted. */
  async insertRounds(records: RoundRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    return this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('rounds')
        .values(
          records.map((r) => ({
            room_id: r.room_id,
            run_started_at: r.run_started_at,
            round: r.round,
            room_code: r.room_code,
            title: r.title,
            started_at: r.started_at,
            ended_at: r.ended_at,
            planned_ms: r.planned_ms,
          })),
        )
        .onConflict((oc) => oc.columns(['room_id', 'run_started_at', 'round']).doNothing())
        .execute();
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
        })),
      );
      if (rows.length === 0) return 0;
      const res = await tx
        .insertInto('round_results')
        .values(rows)
        .onConflict((oc) => oc.columns(['room_id', 'run_started_at', 'round', 'participant_id']).doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0);
    });
  }

  /** Every result of one identity (for stats), oldest first. */
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
      result: { participant_id: r.participant_id, user_name: r.user_name, status: r.status, focused_ms: r.focused_ms, pauses: r.pauses },
    }));
  }

  /** Erases every result of one identity; returns how many rows went. */
  async erase(identity: string): Promise<number> {
    const res = await this.db.deleteFrom('round_results').where('identity', '=', identity).executeTakeFirst();
    return Number(res.numDeletedRows ?? 0);
  }

  async countResults(): Promise<number> {
    const row = await this.db.selectFrom('round_results').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
