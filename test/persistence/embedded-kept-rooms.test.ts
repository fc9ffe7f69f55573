/**
 * The kept rooms a start restores (embedded-journal.ts, KeptRooms): their codes are read
 * at load and their JSON a page at a time as the restore comes to it, across page
 * boundaries, in code order; a row written after the load (a room of this run) is not
 * taken for a kept one, and a kept row deleted meanwhile is skipped.
 */
import { afterEach, expect, it } from 'vitest';
import { openDatabase, type StoreOfRecord } from '../../src/persistence/database.js';
import { EmbeddedJournal, migrateJournal } from '../../src/persistence/embedded-journal.js';
import { freshDataDir } from '../helpers/test-env.js';

let store: StoreOfRecord | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const PUT_ROOM = 'INSERT INTO room_snapshots (code, room, updated_at) VALUES (?, ?, ?)';
const code = (i: number) => `R${String(i).padStart(5, '0')}`;

it('reads the kept rooms page by page as they are taken, only those there at load', async () => {
  store = openDatabase({ kind: 'sqlite', dataDir: freshDataDir() });
  await store.migrate();
  await migrateJournal(store.db);
  // 600 rooms: three pages of 250, the last one partial.
  const params = Array.from({ length: 600 }, (_, i) => [code(i), JSON.stringify({ code: code(i) }), 1]).flat();
  await store.batch!([{ sql: PUT_ROOM, params, width: 3 }]);
  const journal = new EmbeddedJournal(store.db, (s) => store!.batch!(s), (err) => {
    throw err;
  });
  const kept = await journal.load();
  expect(kept.rooms.length).toBe(600);
  // After the load: a room of this run (between kept codes) and a kept room gone.
  await store.batch!([
    { sql: PUT_ROOM, params: [`${code(300)}x`, JSON.stringify({ code: 'new' }), 2], width: 3 },
    { sql: 'DELETE FROM room_snapshots WHERE code = ?', params: [code(500)], width: 1 },
  ]);
  const seen: string[] = [];
  for await (const json of kept.rooms) seen.push((JSON.parse(json) as { code: string }).code);
  expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => code(i)).filter((c) => c !== code(500)));
});
