/**
 * Against a real PostgreSQL started for this file: migrations (empty database, a
 * previous version, two migrators at once), results written by the server, and the
 * database stopped mid-round: rooms and ticks go on, /health stays 200 with
 * `database: down`, and the round's results arrive once it is back.
 */
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/persistence/database.js';
import { MIGRATION_NAMES, migrationProvider } from '../../src/persistence/migrations.js';
import { call, closeAllClients, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';

let pgs: TestPostgres;
beforeAll(async () => {
  pgs = await startPostgres();
}, 60_000);
afterAll(() => pgs?.destroy());

/** A fresh database per test, so each starts empty. */
async function freshDatabase(name: string): Promise<string> {
  await pgs.query(`drop database if exists ${name}`);
  await pgs.query(`create database ${name}`);
  return pgs.urlOf(name);
}

describe('migrations', () => {
  it('apply every version to an empty database, then nothing on a second run', async () => {
    const url = await freshDatabase('mig_empty');
    const sor = openDatabase({ kind: 'postgres', url });
    try {
      expect(await sor.migrate()).toEqual(MIGRATION_NAMES);
      expect(await sor.migrate()).toEqual([]);
    } finally {
      await sor.close();
    }
  });

  it('bring a previous-version database with rows up to date, keeping the rows', async () => {
    const url = await freshDatabase('mig_prev');
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) });
    await new Migrator({ db, provider: migrationProvider }).migrateTo(MIGRATION_NAMES[0]!);
    await db.insertInto('rounds').values({ room_id: 'r1', run_started_at: 1, round: 1, room_code: 'ABCDEF', title: null, started_at: 1, ended_at: 2, planned_ms: 1 }).execute();
    await db.destroy();
    const sor = openDatabase({ kind: 'postgres', url });
    try {
      expect(await sor.migrate()).toEqual(MIGRATION_NAMES.slice(1));
      expect(await sor.db.selectFrom('rounds').select('room_id').execute()).toEqual([{ room_id: 'r1' }]);
      const idx = await pgs.query(`select indexname from pg_indexes where tablename = 'round_results'`, [], 'mig_prev');
      expect(idx.map((r: any) => r.indexname)).toContain('round_results_identity_idx');
    } finally {
      await sor.close();
    }
  });

  it('two instances migrating at once: both succeed, each migration applied once (the migrator locks)', async () => {
    const url = await freshDatabase('mig_race');
    const a = openDatabase({ kind: 'postgres', url });
    const b = openDatabase({ kind: 'postgres', url });
    try {
      const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
      expect([...ra, ...rb].sort()).toEqual([...MIGRATION_NAMES].sort());
      const applied = await pgs.query(`select name from kysely_migration order by name`, [], 'mig_race');
      expect(applied.map((r: any) => r.name)).toEqual(MIGRATION_NAMES);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('the server with DATABASE_URL', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    closeAllClients();
    await server?.close();
    server = undefined;
  });

  it('writes a completed round; a database stopped mid-round delays nothing and loses nothing', async () => {
    const url = await freshDatabase('srv_outage');
    server = await startServer({ DATABASE_URL: url }, { consumer: { batch: 100, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 500 } });
    await server.app.persistence!.start();
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(host, [guest], { session_duration: 3_000 });
    const ticks = record(guest, 'time_update');
    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);

    await pgs.stop();
    await eventually(async () => expect(await (await fetch(`${server!.url}/health`)).json()).toMatchObject({ database: 'down' }), 5_000, 100);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);

    // Rooms go on: status changes answer at once, ticks land on their whole seconds.
    const t0 = Date.now();
    expect((await call(guest, 'update_status', { status: 'paused' })).ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(500);
    await waitFor(guest, 'session_completed', 6_000);
    for (const t of ticks) expect(t._at - (t.ends_at - t.time_left_ms)).toBeLessThan(150);
    expect(ticks.map((t) => t.time_left_ms)).toEqual([2_000, 1_000]);
    expect((await server.app.outbox.stats('db')).depth).toBe(1);

    await pgs.restart();
    await eventually(async () => expect((await pgs.query('select count(*)::int as n from round_results', [], 'srv_outage'))[0]).toEqual({ n: 2 }), 15_000, 200);
    expect((await server.app.outbox.stats('db')).depth).toBe(0);
    await eventually(async () => expect(await (await fetch(`${server!.url}/health`)).json()).toMatchObject({ database: 'ok' }), 5_000, 100);
    const rows = await pgs.query<{ user_name: string; status: string; pauses: number }>('select user_name, status, pauses from round_results order by user_name', [], 'srv_outage');
    expect(rows).toEqual([
      { user_name: 'Guest1', status: 'paused', pauses: 1 },
      { user_name: 'Host', status: 'completed', pauses: 0 },
    ]);
  });
});
