/**
 * What makes a single instance's memory durable (docs/persistence.md, "What a crash can
 * lose"): the outbox's unfinished entries, the live rooms, the recurring series and
 * calendar-feed tokens, and the Web Push subscriptions, written to the embedded store
 * beside the results. The memory outbox, room, series, feed and push-subscription stores
 * tell it each change
 * synchronously (a map update, nothing more); every FLUSH_MS it writes what changed since,
 * coalesced (a room changed ten times is written once; an outbox entry added and finished
 * within the window is never written), as a few multi-row statements in one transaction
 * in the worker thread. So a crash loses at most the last ~0.1 s plus one write.
 *
 * A failed write (a full disk) keeps what it had to write and tries again next time.
 * These tables are the embedded store's own, created by their own migrations (never on
 * PostgreSQL, where rooms live in Redis and the outbox is a Redis Stream).
 */
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import type { Room } from '../domain/room-state.js';
import type { Series } from '../domain/series.js';
import type { OutboxJournal } from '../store/memory-outbox.js';
import type { OutboxMessage } from '../store/outbox.js';
import type { PushSubscriptionJournal } from '../store/memory-push-subscriptions.js';
import type { PushSubscriptionRecord } from '../store/push-subscriptions.js';
import type { Database } from './schema.js';

/** How often changes are written: the bound on what a crash loses (with the write's own time). */
export const FLUSH_MS = 100;
/** The wait before writing again after a failed write. */
const RETRY_MS = 1_000;
/** Rows per statement (SQLite allows 32,766 parameters; entries are 4–5 each). */
const CHUNK = 500;

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
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

export interface JournalState {
  /** Unfinished outbox entries per reader group, oldest first. */
  outbox: Map<string, OutboxMessage[]>;
  rooms: Room[];
  series: Series[];
  feeds: { identity: string; token: string }[];
  pushSubscriptions: { identity: string; record: PushSubscriptionRecord }[];
}

export class EmbeddedJournal implements OutboxJournal, PushSubscriptionJournal {
  private readonly db: Kysely<Database & JournalTables>;
  /** group → id → the message to write, or null: finished (delete it). */
  private outbox = new Map<string, Map<string, OutboxMessage | null>>();
  /** code → the room to write, or null: gone (delete it). */
  private rooms = new Map<string, Room | null>();
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
    private readonly onError: (err: unknown) => void,
    private readonly onWritten: () => void = () => {},
  ) {
    this.db = db.withTables<JournalTables>();
  }

  /** Everything kept from the last run. */
  async load(): Promise<JournalState> {
    const outbox = new Map<string, OutboxMessage[]>();
    const entries = await this.db.selectFrom('outbox_journal').selectAll().orderBy('queued_at').orderBy('id').execute();
    for (const e of entries) {
      const list = outbox.get(e.grp) ?? [];
      list.push({ id: e.id, entry: JSON.parse(e.entry), queuedAt: Number(e.queued_at) });
      outbox.set(e.grp, list);
    }
    const rows = await this.db.selectFrom('room_snapshots').select('room').execute();
    const series = await this.db.selectFrom('series_snapshots').select('series').execute();
    const feeds = await this.db.selectFrom('calendar_feeds').select(['identity', 'token']).execute();
    const subs = await this.db.selectFrom('push_subscriptions').selectAll().execute();
    return {
      outbox,
      rooms: rows.map((r) => JSON.parse(r.room) as Room),
      series: series.map((r) => JSON.parse(r.series) as Series),
      feeds,
      pushSubscriptions: subs.map((r) => ({ identity: r.identity, record: JSON.parse(r.record) as PushSubscriptionRecord })),
    };
  }

  added(group: string, message: OutboxMessage): void {
    this.groupOf(group).set(message.id, message);
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

  roomChanged(code: string, room: Room | null): void {
    this.rooms.set(code, room);
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

  private groupOf(group: string): Map<string, OutboxMessage | null> {
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
      const puts: JournalTables['outbox_journal'][] = [];
      const dels: Array<[string, string]> = [];
      for (const [grp, ids] of outbox) {
        for (const [id, m] of ids) {
          if (m) puts.push({ grp, id, entry: JSON.stringify(m.entry), queued_at: m.queuedAt });
          else dels.push([grp, id]);
        }
      }
      const roomPuts: JournalTables['room_snapshots'][] = [];
      const roomDels: string[] = [];
      for (const [code, room] of rooms) {
        if (room) roomPuts.push({ code, room: JSON.stringify(room), updated_at: now });
        else roomDels.push(code);
      }
      const seriesPuts: JournalTables['series_snapshots'][] = [];
      const seriesDels: string[] = [];
      for (const [id, s] of series) {
        if (s) seriesPuts.push({ id, series: JSON.stringify(s), updated_at: now });
        else seriesDels.push(id);
      }
      const feedPuts: JournalTables['calendar_feeds'][] = [];
      const feedDels: string[] = [];
      for (const [identity, token] of feeds) {
        if (token) feedPuts.push({ identity, token, updated_at: now });
        else feedDels.push(identity);
      }
      await this.db.transaction().execute(async (tx) => {
        for (const part of chunks(puts)) {
          await tx.insertInto('outbox_journal').values(part).onConflict((oc) => oc.columns(['grp', 'id']).doNothing()).execute();
        }
        for (const [grp, ids] of byGroup(dels)) {
          for (const part of chunks(ids)) await tx.deleteFrom('outbox_journal').where('grp', '=', grp).where('id', 'in', part).execute();
        }
        for (const part of chunks(roomPuts)) {
          await tx
            .insertInto('room_snapshots')
            .values(part)
            .onConflict((oc) => oc.column('code').doUpdateSet({ room: sql`excluded.room`, updated_at: sql`excluded.updated_at` }))
            .execute();
        }
        for (const part of chunks(roomDels)) await tx.deleteFrom('room_snapshots').where('code', 'in', part).execute();
        for (const part of chunks(seriesPuts)) {
          await tx
            .insertInto('series_snapshots')
            .values(part)
            .onConflict((oc) => oc.column('id').doUpdateSet({ series: sql`excluded.series`, updated_at: sql`excluded.updated_at` }))
            .execute();
        }
        for (const part of chunks(seriesDels)) await tx.deleteFrom('series_snapshots').where('id', 'in', part).execute();
        for (const part of chunks(feedPuts)) {
          await tx
            .insertInto('calendar_feeds')
            .values(part)
            .onConflict((oc) => oc.column('identity').doUpdateSet({ token: sql`excluded.token`, updated_at: sql`excluded.updated_at` }))
            .execute();
        }
        for (const part of chunks(feedDels)) await tx.deleteFrom('calendar_feeds').where('identity', 'in', part).execute();
        for (const { identity, id, record } of subs.values()) {
          if (record) {
            await tx
              .insertInto('push_subscriptions')
              .values({ identity, id, record: JSON.stringify(record) })
              .onConflict((oc) => oc.columns(['identity', 'id']).doUpdateSet({ record: sql`excluded.record` }))
              .execute();
          } else {
            await tx.deleteFrom('push_subscriptions').where('identity', '=', identity).where('id', '=', id).execute();
          }
        }
      });
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

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function byGroup(pairs: Array<[string, string]>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const [g, id] of pairs) m.set(g, [...(m.get(g) ?? []), id]);
  return m;
}
