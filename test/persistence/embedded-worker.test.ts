/**
 * The embedded store's worker thread (sqlite-worker.ts, sqlite-dialect.ts): it runs at a
 * lower CPU priority than the event loop (Linux), and a one-transaction batch larger than
 * one message is posted in parts, the loop free between them, and still commits as one
 * transaction — all of it, or nothing of it when a statement fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type StoreOfRecord } from '../../src/persistence/database.js';
import { splitBatch } from '../../src/persistence/sqlite-dialect.js';
import { freshDataDir } from '../helpers/test-env.js';

let store: StoreOfRecord | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const PUT = 'INSERT INTO scratch (k, v) VALUES (?, ?)';
/** `n` rows of ~1 KB each: 3,000 rows are ~3 MB, three parts or more. */
const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => [`k${from + i}`, 'x'.repeat(1_000)]).flat();

/** This process's threads at nice `n` (Linux: each thread has its own). */
function threadsAtNice(n: number): string[] {
  return readdirSync('/proc/self/task').filter((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === n;
    } catch {
      return false; // a thread that ended meanwhile
    }
  });
}

it.runIf(existsSync('/proc/thread-self'))('the SQLite thread runs at nice +10, the event loop stays at its own', async () => {
  const before = threadsAtNice(10);
  store = openDatabase({ kind: 'sqlite', dataDir: freshDataDir() });
  await store.migrate();
  const after = threadsAtNice(10).filter((tid) => !before.includes(tid));
  expect(after).toHaveLength(1);
  expect(after).not.toContain(String(process.pid));
});

it('cuts a batch into parts between rows, keeping each piece with its statement', () => {
  const a = { sql: 'A', params: rows(10), width: 2 };
  const b = { sql: 'B', params: [1, 2, 3], width: 1 };
  const parts = splitBatch([a, b], 3_000);
  expect(parts.length).toBeGreaterThan(2);
  // Every row once, in order, each piece whole rows of its own statement.
  expect(parts.flatMap((p) => p.statements.filter((s) => s.sql === 'A').flatMap((s) => s.params))).toEqual(a.params);
  expect(parts.flatMap((p) => p.statements.filter((s) => s.sql === 'B').flatMap((s) => s.params))).toEqual(b.params);
  for (const p of parts) {
    expect(p.origins).toEqual(p.statements.map((s) => (s.sql === 'A' ? 0 : 1)));
    for (const s of p.statements) expect(s.params.length % s.width).toBe(0);
  }
  // Small: one part, the statements as given.
  expect(splitBatch([a, b], 1_000_000)).toEqual([{ statements: [a, b], origins: [0, 1] }]);
});

it('a batch of several parts commits as one transaction, or not at all', async () => {
  store = openDatabase({ kind: 'sqlite', dataDir: freshDataDir() });
  await store.migrate();
  await sql`CREATE TABLE scratch (k TEXT PRIMARY KEY, v TEXT NOT NULL)`.execute(store.db);
  const count = async () => Number(((await sql<{ n: number }>`SELECT count(*) AS n FROM scratch`.execute(store!.db)).rows[0]!).n);

  // ~3 MB: posted in parts; the changes come back per statement, summed over its pieces.
  const changes = await store.batch!([
    { sql: PUT, params: rows(3_000), width: 2 },
    { sql: 'DELETE FROM scratch WHERE k = ?', params: ['k1', 'k2', 'nope'], width: 1 },
  ]);
  expect(changes).toEqual([3_000, 2]);
  expect(await count()).toBe(2_998);

  // A later part fails (k5 is there already): nothing of the earlier parts is kept.
  await expect(
    store.batch!([
      { sql: PUT, params: rows(3_000, 10_000), width: 2 },
      { sql: PUT, params: ['k5', 'again'], width: 2 },
    ]),
  ).rejects.toThrow(/UNIQUE/);
  expect(await count()).toBe(2_998);

  // The connection is free again: a read and a small batch go through.
  expect(await store.batch!([{ sql: PUT, params: ['k1', 'back'], width: 2 }])).toEqual([1]);
  expect(await count()).toBe(2_999);
});
