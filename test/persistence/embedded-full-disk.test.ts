/**
 * A full disk under DATA_DIR, made real inside SQLite: `max_page_count` caps
 * the file at its current size, so every write that needs a new page fails with
 * SQLITE_FULL, as on a full filesystem. Writes fail with one clear error and /health says
 * why; reads keep answering (never an empty history for an identity with rows); once the
 * cap is lifted (space freed) the waiting rounds and the room journal are written.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, roomWith, waitFor } from '../helpers/client.js';
import { getJson, http } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';

it('full: writes wait with one error and /health says why, reads still answer; freed: everything waiting is written', async () => {
  const server = await startServer({}, { consumer: { batch: 100, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 500 } });
  const db = server.app.persistence!.database()!;

  // A first round, written: the identity has a history.
  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const first = await roomWith(host, [guest], { session_duration: 1_000 });
  const key = first.created.user_key as string;
  let done = waitFor(host, 'session_completed', 5_000);
  await call(host, 'start_session');
  await done;
  await eventually(async () => expect(await server.app.persistence!.repository()!.countResults()).toBe(2), 5_000);
  closeAllClients();

  // The disk fills: no page more.
  const { page_count } = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!;
  await sql.raw(`pragma max_page_count = ${page_count}`).execute(db);

  // Rounds keep completing; their results (and the rooms' journal) cannot be written.
  for (let i = 0; i < 3; i++) {
    const [h, g] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(h, [g], { session_duration: 1_000, title: 'x'.repeat(80) });
    done = waitFor(h, 'session_completed', 5_000);
    expect((await call(h, 'start_session')).ok).toBe(true);
    await done;
  }
  await eventually(async () => {
    const health = await getJson(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ database: 'down' });
    expect((health.body as any).database_error).toContain('is full');
  }, 10_000, 100);
  // Reads answer meanwhile: the first round is there.
  const history = await http(`${server.url}/me/history`, { headers: { authorization: `Bearer ${key}` } });
  expect(history.status).toBe(200);
  expect((history.body as any).rounds).toHaveLength(1);

  // Space is freed: the waiting rounds are written, /health is ok again.
  await sql.raw('pragma max_page_count = 1073741823').execute(db);
  await eventually(async () => expect(await server.app.persistence!.repository()!.countResults()).toBe(8), 15_000, 100);
  await eventually(async () => {
    const health = await getJson(`${server.url}/health`);
    expect(health.body).toMatchObject({ database: 'ok' });
    expect((health.body as any).database_error).toBeUndefined();
  }, 10_000, 100);
}, 60_000);
