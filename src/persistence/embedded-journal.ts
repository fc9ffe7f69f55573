/**
 * What makes a single instance's memory durable (docs/persistence.md, "What a crash can
 * lose"): the outbox's unfinished entries, the live rooms, the recurring series and
 * calendar-feed tokens, and the Web Push subscriptions, written to the embedded store
 * beside the results. The memory outbox, room, series, feed and push-subscription stores
 * tell it each change
 * synchronously (a map update, nothing more); every FLUSH_MS it writes what changed since,
 * coalesced (a room changed ten times is written once; an outbox entry added and finished
 * within the window is never written), in one transaction in the worker thread, posted as
 * one message of flat parameters (nothing compiled on the event loop). The rooms are
 * serialised in slices of at most SLICE_MS, the loop free between them, so 2,500 rooms
 * completing at once never hold it for one long block. So a crash loses at most the last
 * ~0.1 s plus one write.
 *
 * A failed write (a full disk) keeps what it had to write and tries again next time.
 * These tables are the embedded store's own, created by their own migrations (never on
 * PostgreSQL, where rooms live in Redis and the outbox is a Redis Stream).
 */
import { type Kysely, type Migration, Migrator } from 'kysely';
import type { Room } from '../domain/room-state.js';
import type { Series } from '../domain/series.js';
import { Slicer } from '../slices.js';
import type { OutboxJournal } from '../store/memory-outbox.js';
import type { OutboxMessage } from '../store/outbox.js';
import type { PushSubscriptionJournal } from '../store/memory-push-subscriptions.js';
import type { PushSubscriptionRecord } from '../store/push-subscriptions.js';
import { migrationNameOrder } from './migrations.js';
import type { Database } from './schema.js';
import type { BatchStatement } from './sqlite-worker.js';

/** How often changes are written: the bound on what a crash loses (with the write's own time). */
export const FLUSH_MS = 100;
/** The wait before writing again after a failed write. */
const RETRY_MS = 1_000;
/** Main-thread time a flush may serialise rooms (or a start decode them) for before it lets the loop run (then goes on). */
const SLICE_MS = 2;
/** Rows read per query at start: one reply of ~0.7 MB of rooms at most. */
const PAGE_ROWS = 250;

const PUT_ENTRY = 'INSERT INTO outbox_journal (grp, id, entry, queued_at) VALUES (?, ?, ?, ?) ON CONFLICT (grp, id) DO NOTHING';
const DEL_ENTRY = 'DELETE FROM outbox_journal WHERE grp = ? AND id = ?';
const PUT_ROOM = 'INSERT INTO room_snapshots (code, room, updated_at) VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET room = excluded.room, updated_at = excluded.updated_at';
const DEL_ROOM = 'DELETE FROM room_snapshots WHERE code = ?';
const PUT_SERIES = 'INSERT INTO series_snapshots (id, series, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET series = excluded.series, updated_at = excluded.updated_at';
const DEL_SERIES = 'DELETE FROM series_snapshots WHERE id = ?';
const PUT_FEED = 'INSERT INTO calendar_feeds (identity, token, updated_at) VALUES (?, ?, ?) ON CONFLICT (identity) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at';
const DEL_FEED = 'DELETE FROM calendar_feeds WHERE identity = ?';
const PUT_SUB = 'INSERT INTO push_subscriptions (identity, id, record) VALUES (?, ?, ?) ON CONFLICT (identity, id) DO UPDATE SET record = excluded.record';
const DEL_SUB = 'DELETE FROM push_subscriptions WHERE identity = ? AND id = ?';

/** An outbox entry to write, with its JSON when the outbox already made it (measuring its size). */
interface Pending {
  message: OutboxMessage;
  json: string | undefined;
}

/** Runs statements in one transaction (StoreOfRecord.batch). */
export type BatchRunner = (statements: BatchStatement[]) => Promise<number[]>;

type JournalTables = {
  outbox_journal: { grp: string; id: string; entry: string; queued_at: number };
  room_snapshots: { code: string; room: string; updated_at: number };
  series_snapshots: { id: string; series: string; updated_at: number };
  calendar_feeds: { identity: string; token: string; updated_at: number };
  push_subscriptions: { identity: string; id: string; record: string };
};

const migrations: Record<string, Migration> = {
  '0001_journal': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('outbox_journal')
        .addColumn('grp', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('queued_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('outbox_journal_pkey', ['grp', 'id'])
        .execute();
      await db.schema
        .createTable('room_snapshots')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('room', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  // Recurring series (definition, members, occurrences' codes, cancellations) and the
  // calendar-feed token of each identity that asked for one.
  '0002_series_feeds': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('series_snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('calendar_feeds')
        .addColumn('identity', 'text', (c) => c.primaryKey())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  // Web Push subscriptions of a single instance (store/memory-push-subscriptions.ts).
  '0003_push_subscriptions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('push_subscriptions_pkey', ['identity', 'id'])
        .execute();
    },
  },
};

/** Applies the journal's own migrations (separate bookkeeping table from the shared schema's). */
export async function migrateJournal(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({
    db: db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'embedded_migration',
    migrationLockTableName: 'embedded_migration_lock',
    nameComparator: migrationNameOrder,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

export interface JournalState {
  /** Unfinished outbox entries per reader group, oldest first. */
  outbox: Map<string, OutboxMessage[]>;
  /** Each of those entries' JSON size in bytes, in the same order (the outbox bounds its bytes). */
  outboxBytes: Map<string, number[]>;
  /** The live rooms the last run left, read a page at a time as they are restored (rooms/room-restore.ts). */
  rooms: KeptRooms;
  series: Series[];
  feeds: { identity: string; token: string }[];
  pushSubscriptions: { identity: string; record: PushSubscriptionRecord }[];
}

/**
 * The kept rooms: their codes read at load (small), each room's JSON only as the restore
 * comes to it, PAGE_ROWS at a time. Read all at once, 2,500 rooms' ~7 MB of JSON stayed
 * alive through the whole restore beside the rooms parsed from it, and a young-generation
 * collection in the start copied both (~14 MB, the start's longest pause); a page at a
 * time, a page's JSON is garbage once its rooms are back. Only the rows whose codes were
 * there at load are read, so a room this run wrote meanwhile is never taken for a kept one.
 */
export interface KeptRooms {
  readonly length: number;
  /** Each kept room's JSON, as written, page by page. */
  [Symbol.asyncIterator](): AsyncIterator<string>;
}

/** No kept rooms (a fresh data dir, or before the journal loads). */
export const NO_KEPT_ROOMS: KeptRooms = { length: 0, async *[Symbol.asyncIterator]() {} };

export class EmbeddedJournal implements OutboxJournal, PushSubscriptionJournal {
  private readonly db: Kysely<Database & JournalTables>;
  /** group → id → the message to write, or null: finished (delete it). */
  private outbox = new Map<string, Map<string, Pending | null>>();
  /** code → the room to write (or its JSON, serialized ahead), or null: gone (delete it). */
  private rooms = new Map<string, Room | string | null>();
  /** identity + id → the subscription to write, or null: removed. */
  private subs = new Map<string, { identity: string; id: string; record: PushSubscriptionRecord | null }>();
  /** id → the series to write, or null: removed. */
  private series = new Map<string, Series | null>();
  /** identity → its feed token, or null: revoked. */
  private feeds = new Map<string, string | null>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** FLUSH_MS, or longer after a failed write (a full disk is not retried ten times a second). */
  private delay = FLUSH_MS;

  constructor(
    db: Kysely<Database>,
    private readonly run: BatchRunner,
    private readonly onError: (err: unknown) => void,
    private readonly onWritten: () => void = () => {},
  ) {
    this.db = db.withTables<JournalTables>();
  }

  /**
   * Everything kept from the last run, decoded in slices of at most SLICE_MS with the loop
   * free between them; the rooms only by their codes, their JSON read PAGE_ROWS at a time
   * as they are restored (KeptRooms): 2,500 kept rooms are ~7 MB of JSON, and one
   * `JSON.parse` pass over them (or one 7 MB reply from the worker) would hold the loop for
   * tens of ms. Decoding stays here rather than in the worker: its objects would come back
   * through a structured clone, which costs the loop as much as parsing does. The rooms
   * stay JSON: restoreRooms (rooms/room-restore.ts) parses each as it puts it back, in its
   * own slices, so the parsed rooms never pile up in the young generation all at once.
   */
  async load(): Promise<JournalState> {
    const outbox = new Map<string, OutboxMessage[]>();
    const outboxBytes = new Map<string, number[]>();
    const slicer = new Slicer(SLICE_MS);
    // One query (ordered by the worker): unfinished entries are normally few.
    const entries = await this.db.selectFrom('outbox_journal').selectAll().orderBy('queued_at').orderBy('id').execute();
    for (const e of entries) {
      const list = outbox.get(e.grp) ?? [];
      const bytes = outboxBytes.get(e.grp) ?? [];
      list.push({ id: e.id, entry: JSON.parse(e.entry), queuedAt: Number(e.queued_at) });
      bytes.push(Buffer.byteLength(e.entry));
      outbox.set(e.grp, list);
      outboxBytes.set(e.grp, bytes);
      await slicer.maybeYield();
    }
    // The rooms' codes now; their JSON a page at a time as they are restored (KeptRooms).
    const codes = (await this.db.selectFrom('room_snapshots').select('code').orderBy('code').execute()).map((r) => r.code);
    const db = this.db;
    const rooms: KeptRooms = {
      length: codes.length,
      async *[Symbol.asyncIterator]() {
        const read = (i: number) => {
          const part = codes.slice(i, i + PAGE_ROWS);
          const wanted = new Set(part);
          return db
            .selectFrom('room_snapshots')
            .select(['code', 'room'])
            .where('code', '>=', part[0]!)
            .where('code', '<=', part[part.length - 1]!)
            .orderBy('code')
            .execute()
            .then((rows) => rows.filter((r) => wanted.has(r.code)));
        };
        // The next page is asked for before this one is restored: the worker reads it (behind
        // any journal write already queued) while the main thread restores, so the restore
        // does not wait for each page in turn; two pages (~1.4 MB) are alive at most.
        let next = codes.length > 0 ? read(0) : null;
        for (let i = 0; next; i += PAGE_ROWS) {
          const page = await next;
          next = i + PAGE_ROWS < codes.length ? read(i + PAGE_ROWS) : null;
          for (const r of page) yield r.room;
        }
      },
    };
    const series = await this.db.selectFrom('series_snapshots').select('series').execute();
    const feeds = await this.db.selectFrom('calendar_feeds').select(['identity', 'token']).execute();
    const subs = await this.db.selectFrom('push_subscriptions').selectAll().execute();
    const parsedSeries: Series[] = [];
    for (const r of series) {
      parsedSeries.push(JSON.parse(r.series) as Series);
      await slicer.maybeYield();
    }
    const pushSubscriptions: JournalState['pushSubscriptions'] = [];
    for (const r of subs) {
      pushSubscriptions.push({ identity: r.identity, record: JSON.parse(r.record) as PushSubscriptionRecord });
      await slicer.maybeYield();
    }
    return { outbox, outboxBytes, rooms, series: parsedSeries, feeds, pushSubscriptions };
  }

  added(group: string, message: OutboxMessage, json?: string): void {
    this.groupOf(group).set(message.id, { message, json });
    this.schedule();
  }

  removed(group: string, ids: readonly string[]): void {
    const g = this.groupOf(group);
    for (const id of ids) {
      // Added and finished within one window: it never needs to reach the disk.
      if (g.get(id)) g.delete(id);
      else g.set(id, null);
    }
    this.schedule();
  }

  roomChanged(code: string, room: Room | null, json?: string): void {
    this.rooms.set(code, room === null ? null : (json ?? room));
    this.schedule();
  }

  seriesChanged(id: string, series: Series | null): void {
    this.series.set(id, series);
    this.schedule();
  }

  feedChanged(identity: string, token: string | null): void {
    this.feeds.set(identity, token);
    this.schedule();
  }

  subscriptionChanged(identity: string, id: string, record: PushSubscriptionRecord | null): void {
    this.subs.set(`${identity}\n${id}`, { identity, id, record });
    this.schedule();
  }

  /** Writes what is pending now (tests, and close). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.outbox.size === 0 && this.rooms.size === 0 && this.series.size === 0 && this.feeds.size === 0 && this.subs.size === 0) return;
    this.flushing = this.write().finally(() => (this.flushing = null));
    await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush().catch((err) => this.onError(err));
  }

  private groupOf(group: string): Map<string, Pending | null> {
    let g = this.outbox.get(group);
    if (!g) this.outbox.set(group, (g = new Map()));
    return g;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().catch((err) => this.onError(err));
    }, this.delay);
  }

  private async write(): Promise<void> {
    const outbox = this.outbox;
    const rooms = this.rooms;
    const series = this.series;
    const feeds = this.feeds;
    const subs = this.subs;
    this.subs = new Map();
    this.outbox = new Map();
    this.rooms = new Map();
    this.series = new Map();
    this.feeds = new Map();
    try {
      const now = Date.now();
      const puts: unknown[] = [];
      const dels: unknown[] = [];
      for (const [grp, ids] of outbox) {
        for (const [id, p] of ids) {
          if (p) puts.push(grp, id, p.json ?? JSON.stringify(p.message.entry), p.message.queuedAt);
          else dels.push(grp, id);
        }
      }
      const roomPuts: unknown[] = [];
      const roomDels: unknown[] = [];
      const slicer = new Slicer(SLICE_MS);
      for (const [code, room] of rooms) {
        if (room) roomPuts.push(code, typeof room === 'string' ? room : JSON.stringify(room), now);
        else roomDels.push(code);
        await slicer.maybeYield();
      }
      const seriesPuts: unknown[] = [];
      const seriesDels: unknown[] = [];
      for (const [id, x] of series) {
        if (x) seriesPuts.push(id, JSON.stringify(x), now);
        else seriesDels.push(id);
      }
      const feedPuts: unknown[] = [];
      const feedDels: unknown[] = [];
      for (const [identity, token] of feeds) {
        if (token) feedPuts.push(identity, token, now);
        else feedDels.push(identity);
      }
      const subPuts: unknown[] = [];
      const subDels: unknown[] = [];
      for (const { identity, id, record } of subs.values()) {
        if (record) subPuts.push(identity, id, JSON.stringify(record));
        else subDels.push(identity, id);
      }
      const statements: BatchStatement[] = [];
      const add = (sql: string, params: unknown[], width: number) => {
        if (params.length > 0) statements.push({ sql, params, width });
      };
      add(PUT_ENTRY, puts, 4);
      add(DEL_ENTRY, dels, 2);
      add(PUT_ROOM, roomPuts, 3);
      add(DEL_ROOM, roomDels, 1);
      add(PUT_SERIES, seriesPuts, 3);
      add(DEL_SERIES, seriesDels, 1);
      add(PUT_FEED, feedPuts, 3);
      add(DEL_FEED, feedDels, 1);
      add(PUT_SUB, subPuts, 3);
      add(DEL_SUB, subDels, 2);
      if (statements.length > 0) await this.run(statements);
      this.delay = FLUSH_MS;
      this.onWritten();
    } catch (err) {
      this.delay = RETRY_MS;
      // Put back what was not written, unless something newer came meanwhile.
      for (const [grp, ids] of outbox) {
        const g = this.groupOf(grp);
        for (const [id, m] of ids) if (!g.has(id)) g.set(id, m);
      }
      for (const [code, room] of rooms) if (!this.rooms.has(code)) this.rooms.set(code, room);
      for (const [id, x] of series) if (!this.series.has(id)) this.series.set(id, x);
      for (const [identity, token] of feeds) if (!this.feeds.has(identity)) this.feeds.set(identity, token);
      for (const [k, sub] of subs) if (!this.subs.has(k)) this.subs.set(k, sub);
      this.schedule();
      throw err;
    }
  }
}
