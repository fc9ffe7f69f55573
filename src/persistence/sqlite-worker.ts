/**
 * The embedded store of record's thread: one `node:sqlite` connection in WAL mode, running
 * the statements the main thread posts ({ id, sql, params } → { id, rows | changes }),
 * one at a time, in order. Every page read, write and fsync happens here, so none of it
 * touches the event loop the rooms tick on (docs/persistence.md).
 *
 * Self-contained on purpose (node built-ins only, erasable TypeScript): Node runs this
 * file as it is, from src/ under tsx or vitest as well as from dist/.
 *
 * The lock: a second file, `focusroom.lock`, is a tiny SQLite database this connection
 * holds in EXCLUSIVE locking mode. The operating system releases that lock when the
 * process ends however it ends (kill -9 included), so it is never stale; a second process
 * on the same DATA_DIR cannot take it and is refused. The data file itself stays in normal
 * locking mode so `sqlite3 .backup` or `VACUUM INTO` can read it beside the server.
 */
import { existsSync, mkdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerInit {
  /** Marks this thread as ours (a test runner's own worker thread must never run this). */
  focusroomSqlite: true;
  /** A directory, or ':memory:'. */
  dataDir: string;
}

export interface WorkerRequest {
  id: number;
  sql: string;
  params: readonly unknown[];
}

/**
 * Several statements in one transaction, in one message (the journal's flush, a batch of
 * results): each statement's parameters flat, `width` per row, so the main thread compiles
 * nothing and posts once. The reply's `changes` holds each statement's rows changed.
 */
export interface WorkerBatch {
  id: number;
  batch: BatchStatement[];
}

/**
 * A part of a large batch, posted ahead of it (the loop free between parts): kept until
 * the batch with the same id arrives, then run first, in the same transaction. No reply.
 */
export interface WorkerBatchPart {
  id: number;
  part: BatchStatement[];
}

export interface BatchStatement {
  sql: string;
  /** Parameters of every row, one after the other. */
  params: unknown[];
  /** Parameters per row: the statement runs params.length / width times. */
  width: number;
}

export type WorkerReply =
  | { id: number; ok: true; rows: Record<string, unknown>[]; changes?: number; lastInsertRowid?: number; batchChanges?: number[] }
  | { id: number; ok: false; error: WorkerError };

/** An error as it crosses the thread boundary. `kind` says what an operator has to do about it. */
export interface WorkerError {
  message: string;
  /** Node's (`EACCES`, `ENOSPC`, …) or SQLite's (`SQLITE_FULL`, …) code, when there is one. */
  code?: string;
  kind: 'locked' | 'not_writable' | 'pglite_dir' | 'full' | 'other';
}

export const DB_FILE = 'focusroom.db';
export const LOCK_FILE = 'focusroom.lock';
/** Prepared statements kept per connection (queries are few and parameterised). */
const STATEMENT_CACHE = 256;
/**
 * How much lower than the event loop's this thread's CPU priority is (lowerPriority).
 * Declared before the code below runs: lowerPriority() is called from it, and a `const`
 * declared after that point would not be initialised yet (the call would throw, into
 * lowerPriority's catch, and the thread would silently keep nice 0).
 */
const WORKER_NICE = 10;

const port = (workerData as WorkerInit | null)?.focusroomSqlite ? parentPort : null;
if (port) {
  const { dataDir } = workerData as WorkerInit;
  let db: DatabaseSync | null = null;
  let lock: DatabaseSync | null = null;
  const statements = new Map<string, StatementSync>();
  try {
    ({ db, lock } = open(dataDir));
    port.postMessage({ ready: true });
  } catch (err) {
    port.postMessage({ ready: false, error: describe(err, dataDir) });
  }
  lowerPriority();
  /** Parts of a batch still to come, by its id. */
  const staged = new Map<number, BatchStatement[]>();
  port.on('message', (req: WorkerRequest | WorkerBatch | WorkerBatchPart | { close: true }) => {
    if ('part' in req) {
      const list = staged.get(req.id);
      if (list) list.push(...req.part);
      else staged.set(req.id, [...req.part]);
      return;
    }
    if ('close' in req) {
      try {
        db?.close();
        lock?.close();
      } finally {
        port.close();
      }
      return;
    }
    if ('batch' in req) {
      const before = staged.get(req.id);
      staged.delete(req.id);
      port.postMessage(runBatch(before ? { id: req.id, batch: [...before, ...req.batch] } : req));
    } else {
      port.postMessage(run(req));
    }
  });

  function prepared(sql: string): StatementSync {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db!.prepare(sql);
      if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value!);
      statements.set(sql, stmt);
    }
    return stmt;
  }

  function runBatch(req: WorkerBatch): WorkerReply {
    if (!db) return { id: req.id, ok: false, error: { message: 'the embedded database is not open', kind: 'other' } };
    let open = false;
    try {
      db.exec('BEGIN IMMEDIATE');
      open = true;
      const batchChanges: number[] = [];
      for (const st of req.batch) {
        const stmt = prepared(st.sql);
        let changes = 0;
        for (let i = 0; i < st.params.length; i += st.width) {
          const row: SQLInputValue[] = new Array(st.width);
          for (let j = 0; j < st.width; j++) row[j] = toSqlite(st.params[i + j]);
          changes += Number(stmt.run(...row).changes);
        }
        batchChanges.push(changes);
      }
      db.exec('COMMIT');
      return { id: req.id, ok: true, rows: [], batchChanges };
    } catch (err) {
      if (open && db.isTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // SQLite rolled back by itself (a full disk): the statement's error is the one to report.
        }
      }
      return { id: req.id, ok: false, error: describe(err, dataDir) };
    }
  }

  function run(req: WorkerRequest): WorkerReply {
    if (!db) return { id: req.id, ok: false, error: { message: 'the embedded database is not open', kind: 'other' } };
    try {
      const stmt = prepared(req.sql);
      const params = req.params.map(toSqlite);
      if (stmt.columns().length > 0) return { id: req.id, ok: true, rows: stmt.all(...params) as Record<string, unknown>[] };
      const r = stmt.run(...params);
      return { id: req.id, ok: true, rows: [], changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
    } catch (err) {
      return { id: req.id, ok: false, error: describe(err, dataDir) };
    }
  }
}

/**
 * This thread runs at a lower CPU priority than the event loop's (nice +WORKER_NICE, this
 * thread only: Linux gives each thread its own nice value). On a machine whose cores are
 * all busy — or a server pinned to one core — the scheduler then gives the core to the
 * ticks and completions first and to SQLite in what they leave; writes are late by at most
 * the busy moment, never the other way round. Elsewhere (no /proc/thread-self) it is a no-op.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, Math.min(19, getPriority(tid) + WORKER_NICE));
  } catch {
    // Not Linux, or not allowed: the thread keeps the process's priority.
  }
}

function open(dataDir: string): { db: DatabaseSync; lock: DatabaseSync | null } {
  if (dataDir === ':memory:') {
    const db = new DatabaseSync(':memory:');
    db.exec('PRAGMA foreign_keys = ON');
    return { db, lock: null };
  }
  mkdirSync(dataDir, { recursive: true });
  // A data dir an older version wrote with PGlite (embedded PostgreSQL): not ours to overwrite.
  if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(join(dataDir, DB_FILE))) {
    throw Object.assign(new Error('PGlite data'), { code: 'PGLITE_DIR' });
  }
  const lock = new DatabaseSync(join(dataDir, LOCK_FILE));
  try {
    lock.exec('PRAGMA busy_timeout = 0');
    lock.exec('PRAGMA locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and EXCLUSIVE mode keeps it until close.
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
    lock.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (err) {
    lock.close();
    throw err;
  }
  const db = new DatabaseSync(join(dataDir, DB_FILE));
  // WAL: readers never wait for the writer and a commit is one append. synchronous=NORMAL
  // in WAL mode loses nothing when the process dies (kill -9): a committed transaction
  // is in the OS's cache; only a power cut may lose the last commits.
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA busy_timeout = 5000');
  return { db, lock };
}

function toSqlite(v: unknown): SQLInputValue {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as SQLInputValue;
}

function describe(err: unknown, dataDir: string): WorkerError {
  const e = err as { message?: string; code?: string; errcode?: number; errstr?: string };
  const message = e?.message ?? String(err);
  // node:sqlite reports SQLite's primary result code in `errcode` (5 busy, 8 read-only, 13 full, 14 cannot open).
  const primary = typeof e?.errcode === 'number' ? e.errcode & 0xff : undefined;
  if (e?.code === 'PGLITE_DIR') return { message: `${dataDir} holds a PGlite database from an older version`, code: 'PGLITE_DIR', kind: 'pglite_dir' };
  if (primary === 5 || primary === 6) return { message, code: 'SQLITE_BUSY', kind: 'locked' };
  if (primary === 13 || /ENOSPC|disk is full|database or disk is full/i.test(message)) return { message, code: 'SQLITE_FULL', kind: 'full' };
  if (['EACCES', 'EROFS', 'EPERM', 'ENOTDIR', 'EEXIST'].includes(e?.code ?? '') || primary === 8 || primary === 14) {
    return { message, code: e?.code && e.code !== 'ERR_SQLITE_ERROR' ? e.code : `SQLITE_${primary}`, kind: 'not_writable' };
  }
  return { message, ...(e?.code ? { code: e.code } : {}), kind: 'other' };
}
