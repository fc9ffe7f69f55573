#!/usr/bin/env node
/**
 * One-off: copies the results an older focusroom kept in an embedded PGlite data dir into
 * the embedded SQLite store of this version (docs/persistence.md, "From PGlite").
 *
 *   npm install --no-save @electric-sql/pglite@0.4   # the reader of the old format, once
 *   node scripts/migrate-pglite.mjs ./data ./data-sqlite
 *   DATA_DIR=./data-sqlite npm start                  # or move it to ./data
 *
 * Stop the old server first. The old directory is only read; run it again and the rows
 * already copied are skipped (the same natural keys, ON CONFLICT DO NOTHING).
 */
import { openDatabase } from '../dist/persistence/database.js';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error('usage: node scripts/migrate-pglite.mjs <old PGlite DATA_DIR> <new DATA_DIR>');
  process.exit(2);
}
let PGlite;
try {
  ({ PGlite } = await import('@electric-sql/pglite'));
} catch {
  console.error('reading a PGlite data dir needs @electric-sql/pglite: npm install --no-save @electric-sql/pglite@0.4');
  process.exit(2);
}

const old = new PGlite(from);
const sor = openDatabase({ kind: 'sqlite', dataDir: to });
await sor.migrate();
const BATCH = 500;
let copied = { rounds: 0, round_results: 0 };
for (const table of ['rounds', 'round_results']) {
  for (let offset = 0; ; offset += BATCH) {
    const { rows } = await old.query(`select * from ${table} order by room_id, run_started_at, round${table === 'round_results' ? ', participant_id' : ''} limit ${BATCH} offset ${offset}`);
    if (rows.length === 0) break;
    const values = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
    const res = await sor.db.insertInto(table).values(values).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    copied[table] += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
}
await old.close();
await sor.close();
console.log(`copied ${copied.rounds} rounds and ${copied.round_results} results from ${from} to ${to}`);
