/**
 * Kysely's SQLite dialect (its query compiler, adapter and introspector) over a connection
 * that lives in a worker thread (./sqlite-worker.ts): each query is posted there and its
 * rows come back in a message, so the event loop only compiles SQL and copies rows.
 *
 * One connection, as Kysely's own SQLite driver has: a mutex hands it to one caller at a
 * time, so a transaction (begin … commit, each a message) runs alone on it — no other
 * query can slip between its statements.
 */
import { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  CompiledQuery as Compiled,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
} from 'kysely';
import { nextTurn } from '../slices.js';
import type { BatchStatement, WorkerBatchPart, WorkerError, WorkerInit, WorkerReply } from './sqlite-worker.js';

/** Characters of parameters (a number counts 8) posted to the worker in one message at most. */
const PART_CHARS = 1_000_000;

/** One message's statements, and for each the index of the statement (of the whole batch) it was cut from. */
interface BatchPart {
  statements: BatchStatement[];
  origins: number[];
}

/**
 * Cuts `statements` into parts of about `maxChars` of parameters, each statement between
 * rows (a piece keeps its SQL and width); in order, so the worker runs the rows as given.
 */
export function splitBatch(statements: readonly BatchStatement[], maxChars: number): BatchPart[] {
  const parts: BatchPart[] = [];
  let part: BatchPart = { statements: [], origins: [] };
  let chars = 0;
  statements.forEach((st, origin) => {
    let from = 0;
    for (let i = 0; i < st.params.length; i += st.width) {
      let row = 0;
      for (let j = i; j < i + st.width; j++) {
        const v = st.params[j];
        row += typeof v === 'string' ? v.length : 8;
      }
      if (chars + row > maxChars && (i > from || part.statements.length > 0)) {
        if (i > from) {
          part.statements.push({ sql: st.sql, params: st.params.slice(from, i), width: st.width });
          part.origins.push(origin);
        }
        parts.push(part);
        part = { statements: [], origins: [] };
        chars = 0;
        from = i;
      }
      chars += row;
    }
    if (from === 0) part.statements.push(st);
    else part.statements.push({ sql: st.sql, params: st.params.slice(from), width: st.width });
    part.origins.push(origin);
  });
  parts.push(part);
  return parts;
}

/** A failure the worker reported, with what the operator can do about it (`kind`). */
export class EmbeddedStoreError extends Error {
  readonly code: string | undefined;
  readonly kind: WorkerError['kind'];
  constructor(e: WorkerError) {
    super(e.message);
    this.name = 'EmbeddedStoreError';
    this.code = e.code;
    this.kind = e.kind;
  }
}

/** Where the worker's code is: beside this file, .ts when running from src/ (tsx, vitest), .js from dist/. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./sqlite-worker${ext}`, import.meta.url);
}

/** The worker and its message round trips. */
export class SqliteWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | null = null;
  /** The one connection's mutex: a Kysely transaction or a batch holds it from first to last message. */
  private locked: Promise<void> | null = null;
  readonly ready: Promise<void>;

  constructor(dataDir: string) {
    const init: WorkerInit = { focusroomSqlite: true, dataDir };
    // execArgv: [] so a test runner's or tsx's loader flags do not follow it; Node strips the types itself.
    this.worker = new Worker(workerUrl(), { workerData: init, execArgv: [] });
    this.ready = new Promise<void>((resolve, reject) => {
      const onFirst = (msg: { ready?: boolean; error?: WorkerError }) => {
        if (msg.ready) resolve();
        else reject(new EmbeddedStoreError(msg.error ?? { message: 'the embedded database did not open', kind: 'other' }));
        this.worker.off('message', onFirst);
        this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
      };
      this.worker.on('message', onFirst);
      this.worker.once('error', reject);
    });
    // Keep ready's rejection from being unhandled when nobody awaits it yet.
    this.ready.catch(() => {});
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the embedded database thread exited (${code})`)));
  }

  async query(sql: string, params: readonly unknown[]): Promise<WorkerReply & { ok: true }> {
    return this.send((id) => ({ id, sql, params }));
  }

  /** Waits for the connection, then holds it until the returned release is called. */
  async lock(): Promise<() => void> {
    while (this.locked) await this.locked;
    let release!: () => void;
    this.locked = new Promise<void>((r) => (release = r));
    return () => {
      this.locked = null;
      release();
    };
  }

  /**
   * Runs `statements` in one transaction in the worker (nothing is compiled here); resolves
   * with each statement's rows changed. Takes the connection's mutex, so it never lands
   * inside a Kysely transaction. A large batch (a flush of 2,500 rooms is ~7 MB) is posted
   * in parts of about PART_CHARS, the loop free between them: one structured clone of it
   * would hold the loop for 5–15 ms. The worker keeps the parts and runs them all, in one
   * transaction, when the last arrives (sqlite-worker.ts), so a crash between parts
   * commits nothing of it.
   */
  async batch(statements: BatchStatement[]): Promise<number[]> {
    const release = await this.lock();
    try {
      await this.ready;
      if (this.dead) throw this.dead;
      const parts = splitBatch(statements, PART_CHARS);
      const id = this.nextId++;
      for (const part of parts.slice(0, -1)) {
        this.worker.postMessage({ id, part: part.statements } satisfies WorkerBatchPart);
        await nextTurn();
        if (this.dead) throw this.dead;
      }
      const last = parts[parts.length - 1]!;
      const reply = await this.send(() => ({ id, batch: last.statements }), id);
      // Changes per piece, summed back to the statements the pieces were cut from.
      const changes = new Array<number>(statements.length).fill(0);
      const origins = parts.flatMap((p) => p.origins);
      (reply.batchChanges ?? []).forEach((n, i) => (changes[origins[i]!] = (changes[origins[i]!] ?? 0) + n));
      return changes;
    } finally {
      release();
    }
  }

  private async send(message: (id: number) => object, id = this.nextId++): Promise<WorkerReply & { ok: true }> {
    await this.ready;
    if (this.dead) throw this.dead;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message(id));
    });
    if (!reply.ok) throw new EmbeddedStoreError(reply.error);
    return reply;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage({ close: true });
    // A worker stuck in a long statement is ended rather than waited for.
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    p.resolve(reply);
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

class WorkerConnection implements DatabaseConnection {
  constructor(private readonly worker: SqliteWorker) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const r = await this.worker.query(compiled.sql, compiled.parameters);
    if (r.changes === undefined) return { rows: r.rows as R[] };
    return {
      rows: r.rows as R[],
      numAffectedRows: BigInt(r.changes),
      ...(r.lastInsertRowid !== undefined ? { insertId: BigInt(r.lastInsertRowid) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the embedded store does not stream queries');
  }
}

class WorkerDriver implements Driver {
  private readonly connection: WorkerConnection;
  private unlockFn: (() => void) | null = null;

  constructor(private readonly worker: SqliteWorker) {
    this.connection = new WorkerConnection(worker);
  }

  async init(): Promise<void> {
    await this.worker.ready;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.unlockFn = await this.worker.lock();
    return this.connection;
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(Compiled.raw('begin immediate'));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(Compiled.raw('commit'));
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    try {
      await c.executeQuery(Compiled.raw('rollback'));
    } catch (err) {
      // SQLite rolls back by itself on some errors (a full disk): the statement's error is the one to report.
      if (!/no transaction is active/.test((err as Error).message)) throw err;
    }
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.unlockFn;
    this.unlockFn = null;
    unlock?.();
  }

  async destroy(): Promise<void> {
    await this.worker.close();
  }
}

/** Kysely's SQLite dialect with the worker's driver in place of its synchronous one. */
export class WorkerSqliteDialect extends SqliteDialect {
  constructor(private readonly worker: SqliteWorker) {
    // The base class wants a synchronous database; it is never used (createDriver is ours).
    super({ database: undefined as never });
  }

  override createDriver(): Driver {
    return new WorkerDriver(this.worker);
  }
}
