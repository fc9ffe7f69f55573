/**
 * The store of record, opened from config: PostgreSQL through `pg` when DATABASE_URL is
 * set, otherwise the embedded SQLite file in DATA_DIR, run in a worker thread
 * (./sqlite-dialect.ts) so it never stalls the rooms. One Kysely schema and the same
 * queries for both; migrations are applied by `migrate()`.
 */
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationNameOrder, migrationProvider } from './migrations.js';
import type { Database } from './schema.js';
import { SqliteWorker, WorkerSqliteDialect } from './sqlite-dialect.js';
import type { BatchStatement } from './sqlite-worker.js';
import { withTimeout } from '../timeout.js';

export type DatabaseConfig = { kind: 'postgres'; url: string } | { kind: 'sqlite'; dataDir: string };

export interface StoreOfRecord {
  readonly kind: 'postgres' | 'sqlite';
  readonly db: Kysely<Database>;
  /** Applies every pending migration (under the migrator's lock); throws on failure. */
  migrate(): Promise<string[]>;
  /** Throws unless the database answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  /** The embedded store only: statements run in one transaction in its thread, posted as one message (sqlite-dialect.ts). */
  batch?(statements: BatchStatement[]): Promise<number[]>;
}

export interface OpenOptions {
  /** Called with errors of idle pooled connections (a restarted server), which must not crash us. */
  onIdleError?: (err: Error) => void;
}

export function openDatabase(config: DatabaseConfig, opts: OpenOptions = {}): StoreOfRecord {
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: 4,
      // Fail fast while the database is away: the writer retries, nothing waits on it.
      connectionTimeoutMillis: 3_000,
      query_timeout: 15_000,
      idleTimeoutMillis: 30_000,
    });
    pool.on('error', (err) => opts.onIdleError?.(err));
    return wrap('postgres', new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
  }
  const worker = new SqliteWorker(config.dataDir);
  const store = wrap('sqlite', new Kysely<Database>({ dialect: new WorkerSqliteDialect(worker) }));
  // Opening (lock, file, WAL) happens in the worker; its failure is the first thing migrate() reports.
  return { ...store, migrate: async () => (await worker.ready, store.migrate()), batch: (statements) => worker.batch(statements) };
}

function wrap(kind: 'postgres' | 'sqlite', db: Kysely<Database>): StoreOfRecord {
  return {
    kind,
    db,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider, nameComparator: migrationNameOrder });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(String(error));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    async ping(timeoutMs = 2_000) {
      await withTimeout(sql`select 1`.execute(db), timeoutMs, () => new Error(`database did not answer within ${timeoutMs} ms`));
    },
    close: () => db.destroy(),
  };
}
