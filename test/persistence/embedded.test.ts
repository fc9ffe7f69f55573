/**
 * The embedded default (the embedded SQLite store): a completed round is written once per participant,
 * /health reports the database, and results survive a restart of the server on the same
 * DATA_DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, roomWith, waitFor } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'focusroom-data-'));
let server: TestServer | undefined;
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function resultsIn(s: TestServer): Promise<Array<Record<string, unknown>>> {
  const db = s.app.persistence!.database();
  if (!db) return [];
  return (await db.selectFrom('round_results').selectAll().orderBy('user_name').execute()) as Array<Record<string, unknown>>;
}

it('writes each participant result of a completed round once, and keeps it across a restart', async () => {
  server = await startServer({ DATA_DIR: dataDir });
  await server.app.persistence!.start();
  const health = await (await fetch(`${server.url}/health`)).json();
  expect(health).toMatchObject({ status: 'ok', database: 'ok' });

  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const { code, created } = await roomWith(host, [guest], { session_duration: 1_000 });
  const started = await call(host, 'start_session');
  expect(started.ok).toBe(true);
  const done = await waitFor(guest, 'session_completed', 5_000);
  expect(done.results).toHaveLength(2);

  await eventually(async () => expect(await resultsIn(server!)).toHaveLength(2), 5_000);
  const rows = await resultsIn(server!);
  expect(rows.map((r) => [r.user_name, r.status, Number(r.focused_ms), Number(r.pauses)])).toEqual([
    ['Guest1', 'completed', 1_000, 0],
    ['Host', 'completed', 1_000, 0],
  ]);
  expect(rows[0]).toMatchObject({ room_id: created.session_id, round: 1 });
  expect(Number(rows[0]!.ended_at)).toBe(started.session.ends_at);
  const rounds = await server.app.persistence!.database()!.selectFrom('rounds').selectAll().execute();
  expect(rounds).toHaveLength(1);
  expect(rounds[0]).toMatchObject({ room_code: code, round: 1, planned_ms: 1_000 });

  closeAllClients();
  await server.close();
  server = await startServer({ DATA_DIR: dataDir });
  await server.app.persistence!.start();
  expect(await resultsIn(server)).toHaveLength(2);
}, 30_000);

it('DATA_DIR=off: no store of record, /health says database disabled', async () => {
  server = await startServer({ DATA_DIR: 'off' });
  expect(server.app.persistence).toBeNull();
  const health = await (await fetch(`${server.url}/health`)).json();
  expect(health).toMatchObject({ status: 'ok', database: 'disabled' });
});
