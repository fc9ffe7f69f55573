/**
 * Versioned migrations, in order, applied at start by Kysely's Migrator (which holds a
 * lock — pg_advisory_xact_lock on PostgreSQL — so instances starting together apply
 * each one once). Listed in code rather than read from a folder, so they run the same
 * from src/ (tsx) and dist/. Never edit a released migration: add the next one.
 */
import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_rounds': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rounds')
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('run_started_at', 'bigint', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('room_code', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint', (c) => c.notNull())
        .addColumn('planned_ms', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('rounds_pkey', ['room_id', 'run_started_at', 'round'])
        .execute();
      await db.schema
        .createTable('round_results')
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('run_started_at', 'bigint', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('participant_id', 'text', (c) => c.notNull())
        .addColumn('identity', 'text')
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('focused_ms', 'integer', (c) => c.notNull())
        .addColumn('pauses', 'integer', (c) => c.notNull())
        .addColumn('ended_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('round_results_pkey', ['room_id', 'run_started_at', 'round', 'participant_id'])
        .addForeignKeyConstraint('round_results_round_fkey', ['room_id', 'run_started_at', 'round'], 'rounds', ['room_id', 'run_started_at', 'round'], (c) =>
          c.onDelete('cascade'),
        )
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('round_results').execute();
      await db.schema.dropTable('rounds').execute();
    },
  },
  // An identity's history and stats read its results newest first.
  '0002_results_by_identity': {
    async up(db: Kysely<unknown>) {
      await sql`create index round_results_identity_idx on round_results (identity, ended_at desc) where identity is not null`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('round_results_identity_idx').execute();
    },
  },
  // the intention a participant held when the round ended, and the recap
  // given after it. One column per ALTER, so SQLite (no multi-column ADD) runs it too.
  '0003_intention_recap': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('round_results').addColumn('intention', 'text').execute();
      await db.schema.alterTable('round_results').addColumn('recap_outcome', 'text').execute();
      await db.schema.alterTable('round_results').addColumn('recap_note', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('round_results').dropColumn('recap_note').execute();
      await db.schema.alterTable('round_results').dropColumn('recap_outcome').execute();
      await db.schema.alterTable('round_results').dropColumn('intention').execute();
    },
  },
  // Attendance: one row per booked seat when its run's no-show grace ended.
  '0004_attendance': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('attendance')
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('run_started_at', 'bigint', (c) => c.notNull())
        .addColumn('participant_id', 'text', (c) => c.notNull())
        .addColumn('identity', 'text')
        .addColumn('room_code', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        // 0 / 1: one type on PostgreSQL and SQLite (which has no boolean).
        .addColumn('attended', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('attendance_pkey', ['room_id', 'run_started_at', 'participant_id'])
        .execute();
      await sql`create index attendance_identity_idx on attendance (identity, starts_at desc) where identity is not null`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('attendance').execute();
    },
  },
};

export const MIGRATION_NAMES = Object.keys(migrations);

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};

/**
 * The order of migration names for Kysely's Migrator: code-point order. Every name starts
 * with its own 4-digit number, so this is the order the default (`localeCompare`) gives,
 * without its first call loading ICU's collator on the event loop at start (~6–11 ms,
 * once executed migrations are there to sort: every start on an existing data dir).
 */
export const migrationNameOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
