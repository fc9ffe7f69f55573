/**
 * The embedded store's start: one process per DATA_DIR
 * (a second is refused at start with a clear error), a data dir that cannot be written is
 * one clear error and /health says so (the server runs on), an old PGlite data dir is
 * refused with the export step, and /me/stats answers 503 with Retry-After until the
 * store is open.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { issuedUserKey, TEST_USER_KEY_SECRET } from '../helpers/test-env.js';
import { getJson } from '../helpers/http.js';
import { killIfRunning, spawnServer, waitUntilHealthy } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';

const root = mkdtempSync(join(tmpdir(), 'focusroom-start-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('refuses a second process on the same DATA_DIR, naming it', async () => {
  const dataDir = join(root, 'shared');
  const first = await startServer({ DATA_DIR: dataDir });
  await first.app.persistence!.start();
  expect((await getJson(`${first.url}/health`)).body).toMatchObject({ database: 'ok' });

  const second = await spawnServer({ DATA_DIR: dataDir });
  try {
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(second.stderr()).toContain(`DATA_DIR ${dataDir} is in use by another focusroom process`);
  } finally {
    killIfRunning(second);
  }
  // The first one is unaffected.
  expect((await getJson(`${first.url}/health`)).body).toMatchObject({ database: 'ok' });
  await first.close();

  // Once the first has gone (a kill -9 too: the OS drops the lock), the data dir is free.
  const third = await startServer({ DATA_DIR: dataDir });
  await third.app.persistence!.start();
  expect((await getJson(`${third.url}/health`)).body).toMatchObject({ database: 'ok' });
}, 60_000);

it('a DATA_DIR that cannot be written: one clear error, /health says why, rooms run on', async () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a directory');
  const dataDir = join(file, 'data');
  const server = await spawnServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info', USER_KEY_SECRET: TEST_USER_KEY_SECRET });
  try {
    await waitUntilHealthy(server, 40_000);
    const health = await getJson(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: 'down' });
    expect((health.body as any).database_error).toContain(`DATA_DIR ${dataDir} cannot be written`);
    const stats = await fetch(`${server.url}/me/stats`, { headers: { authorization: `Bearer ${issuedUserKey()}` } });
    expect(stats.status).toBe(503);
    expect(stats.headers.get('retry-after')).toBe('1');
    // Retries go on quietly: still one error line after a few of them.
    await new Promise((r) => setTimeout(r, 1_500));
    const lines = server.stdout().split('\n').filter((l) => l.includes('cannot be written'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50 });
  } finally {
    killIfRunning(server);
  }
}, 60_000);

it('refuses a data dir an older version filled with PGlite, with the export step', async () => {
  const dataDir = join(root, 'pglite');
  mkdirSync(join(dataDir, 'base'), { recursive: true });
  writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
  const server = await spawnServer({ DATA_DIR: dataDir });
  try {
    expect((await server.exited).code).toBe(1);
    expect(server.stderr()).toContain('holds a PGlite database');
    expect(server.stderr()).toContain('scripts/migrate-pglite.mjs');
  } finally {
    killIfRunning(server);
  }
}, 60_000);
