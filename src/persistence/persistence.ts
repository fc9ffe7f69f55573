/**
 * The store of record beside the rooms: opens the database and applies migrations in the
 * background (retrying while it is away, so the server starts and serves rooms without
 * it), then runs the writer, which moves completed rounds from the outbox into the
 * database. `status()` is a cached answer for /health, refreshed by a background ping,
 * so a slow database never slows a health check either.
 *
 * The embedded store's failures an operator must fix (DATA_DIR not writable, disk full)
 * are logged once, with the path and the fix, and shown by /health (`database_error`)
 * until they are gone; retries go on quietly. Two are refused outright (`fatal()`): a
 * DATA_DIR another process holds, and one an older version filled with PGlite files.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { OutboxEntry } from '../domain/outbox-entries.js';
import type { Outbox, OutboxMessage } from '../store/outbox.js';
import { throttled } from '../throttled.js';
import { type DatabaseConfig, openDatabase, type StoreOfRecord } from './database.js';
import { explainStoreError, type StoreProblem } from './store-problems.js';
import type { Room } from '../domain/room-state.js';
import { MemoryOutbox } from '../store/memory-outbox.js';
import { MemoryPushSubscriptions } from '../store/memory-push-subscriptions.js';
import type { PushSubscriptions } from '../store/push-subscriptions.js';
import { EmbeddedJournal, type JournalState, migrateJournal, NO_KEPT_ROOMS } from './embedded-journal.js';
import type { Series } from '../domain/series.js';

/** What the last run left for the server to put back (single instance on a data dir). */
export type Kept = Pick<JournalState, 'rooms' | 'series' | 'feeds'>;
const NOTHING_KEPT: Kept = { rooms: NO_KEPT_ROOMS, series: [], feeds: [] };
import { type ConsumerOptions, defaultConsumerOptions, OutboxConsumer } from '../store/outbox-consumer.js';
import type { OutboxMetrics } from './outbox-metrics.js';
import { ResultsRepository } from './results-repository.js';
import { ResultsWriter } from './results-writer.js';

export type DatabaseStatus = 'ok' | 'down' | 'disabled';
/** The writer: `stalled` when rounds have waited `stallMs` with none written (a jam, or the database away that long). */
export type WriterStatus = 'ok' | 'stalled' | 'disabled';

export const DB_GROUP = 'db';
const PING_EVERY_MS = 2_000;

export class Persistence {
  private sor: StoreOfRecord | null = null;
  private repo: ResultsRepository | null = null;
  private consumer: OutboxConsumer | null = null;
  private writer: ResultsWriter | null = null;
  private state: 'ok' | 'down' = 'down';
  private stopped = false;
  private starting: Promise<void> | null = null;
  private pinger: NodeJS.Timeout | null = null;
  /** What an operator must fix while the store is down (null: nothing, or a transient outage). */
  private problem: StoreProblem | null = null;
  /** The last write failed: /health says down until one succeeds (reads may still work). */
  private writeFailing = false;
  /** The last journal write failed (embedded-journal.ts): down too, until one succeeds. */
  private journalFailing = false;
  private fatalProblem: StoreProblem | null = null;
  private firstTry!: () => void;
  /** The embedded store's journal of the outbox and the rooms (single instance, a DATA_DIR on disk). */
  private journal: EmbeddedJournal | null = null;
  private kept: Kept | null = null;
  /** Who puts kept rooms, series and feeds back (app.ts), told once the journal has loaded them. */
  private keptListener: ((kept: Kept) => void) | null = null;
  /** Room, series and feed changes before the journal opened (a slow first open): handed to it once it does. */
  /** Web Push subscriptions to keep in the journal too (single instance). */
  private pushSubscriptions: MemoryPushSubscriptions | null = null;
  private earlyRooms: Map<string, Room | null> | null = new Map();
  private earlySeries: Map<string, Series | null> | null = new Map();
  private earlyFeeds: Map<string, string | null> | null = new Map();
  private readonly firstTried = new Promise<void>((r) => (this.firstTry = r));
  /** When the writer last finished a record or found none waiting (Date.now()). */
  private lastProgressAt = Date.now();
  /** Cuts the retry wait short on close. */
  private wakeConnect: () => void = () => {};
  private readonly warn: (err: unknown, msg: string) => void;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly outbox: Outbox,
    private readonly metrics: OutboxMetrics,
    private readonly log: FastifyBaseLogger,
    private readonly consumerOpts: ConsumerOptions = defaultConsumerOptions,
  ) {
    this.warn = throttled(5_000, (err: unknown, msg: string) => log.warn({ err: errorText(err) }, msg));
    // No journal on this store: changes held for it would only pile up.
    if (!this.journaled()) this.earlyRooms = this.earlySeries = this.earlyFeeds = null;
  }

  /** Whether this store keeps the process's memory (a single instance on a DATA_DIR on disk). */
  private journaled(): boolean {
    return this.config.kind === 'sqlite' && this.config.dataDir !== ':memory:' && this.outbox instanceof MemoryOutbox;
  }

  get kind(): 'postgres' | 'sqlite' {
    return this.config.kind;
  }

  /** Starts in the background; resolves once the database is migrated (tests wait on it, the server does not). */
  start(): Promise<void> {
    this.starting ??= this.connect();
    return this.starting;
  }

  status(): DatabaseStatus {
    return this.state === 'ok' && !this.writeFailing && !this.journalFailing ? 'ok' : 'down';
  }

  /** Why the store is down, when an operator has to act (for /health); null otherwise. */
  statusError(): string | null {
    return this.status() === 'down' ? (this.problem?.message ?? null) : null;
  }

  /** Resolves once the first attempt to open has succeeded or failed. */
  firstAttempt(): Promise<void> {
    this.start();
    return this.firstTried;
  }

  /**
   * `listener` gets the rooms, series and feed tokens the last run left, once: now if the
   * journal has loaded them, else when it does (an open slower than the start's wait).
   */
  onKept(listener: (kept: Kept) => void): void {
    if (this.kept) {
      const kept = this.kept;
      this.kept = NOTHING_KEPT;
      listener(kept);
    } else {
      this.keptListener = listener;
    }
  }

  /**
   * Keeps `subs` (the single instance's Web Push subscriptions, in memory) in the journal:
   * the last run's come back when it opens, and every change is written from then on.
   */
  keepPushSubscriptions(subs: PushSubscriptions): void {
    if (subs instanceof MemoryPushSubscriptions) this.pushSubscriptions = subs;
  }

  /** Told of every committed room change (single instance): written within ~0.1 s. `json`: the room, serialized already. */
  roomChanged(code: string, room: Room | null, json?: string): void {
    if (this.journal) this.journal.roomChanged(code, room, json);
    else this.earlyRooms?.set(code, room);
  }

  /** Told of every committed series change (single instance). */
  seriesChanged(id: string, series: Series | null): void {
    if (this.journal) this.journal.seriesChanged(id, series);
    else this.earlySeries?.set(id, series);
  }

  /** Told of every calendar-feed token issued or revoked (single instance). */
  feedChanged(identity: string, token: string | null): void {
    if (this.journal) this.journal.feedChanged(identity, token);
    else this.earlyFeeds?.set(identity, token);
  }

  /** Writes the journal's pending changes now (tests). */
  async flushJournal(): Promise<void> {
    await this.journal?.flush();
  }

  /** A problem that must stop the server at start (the data dir is another process's, or PGlite's). */
  fatal(): StoreProblem | null {
    return this.fatalProblem;
  }

  /**
   * Whether the writer keeps up (for /health): rounds waiting and none written for
   * `stallMs` (a batch that cannot be written, or the database away that long) is `stalled`.
   */
  async writerStatus(now = Date.now()): Promise<WriterStatus> {
    if (now - this.lastProgressAt <= (this.consumerOpts.stallMs ?? 60_000)) return 'ok';
    try {
      if ((await this.outbox.stats(DB_GROUP)).depth === 0) {
        this.lastProgressAt = now;
        return 'ok';
      }
    } catch {
      // the outbox (Redis) does not answer: the writer cannot make progress either
    }
    return 'stalled';
  }

  /** The Kysely handle once migrated (tests and tools read the tables through it). */
  database(): StoreOfRecord['db'] | null {
    return this.repo ? this.sor!.db : null;
  }

  /** The repository once the database is open and migrated; null before (callers answer `unavailable`). */
  repository(): ResultsRepository | null {
    return this.state === 'ok' ? this.repo : null;
  }

  private async connect(): Promise<void> {
    let delay = 200;
    while (!this.stopped) {
      try {
        this.sor ??= openDatabase(this.config, { onIdleError: (err) => this.warn(err, 'database connection lost') });
        const applied = await this.sor.migrate();
        if (applied.length > 0) this.log.info({ migrations: applied, database: this.config.kind }, 'database migrated');
        await this.openJournal(this.sor);
        if (this.problem) this.log.info({ database: this.config.kind }, 'database ok again');
        this.problem = null;
        break;
      } catch (err) {
        if (this.stopped) break;
        const problem = explainStoreError(err, this.config);
        if (this.config.kind === 'sqlite') {
          // A worker that could not open is done: the next attempt starts a new one.
          await this.sor?.close().catch(() => {});
          this.sor = null;
        }
        if (problem?.fatal) {
          this.fatalProblem = problem;
          this.problem = problem;
          // Not logged here: the start refuses with this message (app.ts), printed once by server.ts.
          this.firstTry();
          return;
        }
        if (problem) {
          // Once per distinct problem, as an error: retrying goes on quietly.
          if (this.problem?.message !== problem.message) this.log.error({ data_dir: problem.path, code: problem.code }, problem.message);
          this.problem = problem;
        } else {
          this.warn(err, 'database unavailable; rooms run on, results wait in the outbox');
        }
        this.firstTry();
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          this.wakeConnect = () => {
            clearTimeout(timer);
            r();
          };
        });
        delay = Math.min(delay * 2, 5_000);
      }
    }
    this.firstTry();
    if (this.stopped || !this.sor) return;
    this.repo = new ResultsRepository(this.sor.db, this.sor.batch);
    const sor = this.sor;
    const repo = this.repo;
    this.writer = new ResultsWriter({
      // In this order: attendance and recaps after the rounds whose rows they complete.
      steps: [
        // Each step gets only entries of its type; narrowing on `type` gives their data its type.
        { type: 'round.completed', apply: (entries) => repo.insertRounds(entries.flatMap((e) => (e.type === 'round.completed' ? [e.data] : []))), counts: true },
        { type: 'attendance.recorded', apply: (entries) => repo.insertAttendance(entries.flatMap((e) => (e.type === 'attendance.recorded' ? [e.data] : []))) },
        { type: 'participant.recap', apply: (entries) => repo.applyRecaps(entries.flatMap((e) => (e.type === 'participant.recap' ? [e.data] : []))) },
      ],
      ping: () => sor.ping(),
      isStoreFault: (err) => explainStoreError(err, this.config) !== null,
      deadLetter: (m, err) => {
        this.metrics.deadLetters.inc();
        // Once per entry; ids and sizes only (the results carry identity hashes, never logged).
        this.log.error(
          { ...deadLetterFields(m.entry), err: errorText(err) },
          'an outbox entry could not be written and was set aside (dead letter)',
        );
      },
    });
    this.state = 'ok';
    this.pinger = setInterval(() => void this.refresh(), PING_EVERY_MS);
    this.pinger.unref();
    this.consumer = new OutboxConsumer(this.outbox, DB_GROUP, (batch) => this.write(batch), (err) => {
      this.writeFailing = true;
      this.metrics.writeFailures.inc();
      const problem = explainStoreError(err, this.config);
      if (problem) {
        if (this.problem?.message !== problem.message) this.log.error({ data_dir: problem.path, code: problem.code, err: (err as Error).message }, problem.message);
        this.problem = problem;
      } else {
        this.warn(err, 'writing results failed; will retry');
      }
    }, this.consumerOpts, () => {
      this.lastProgressAt = Date.now();
    });
    this.consumer.start();
  }

  /**
   * Single instance on a data dir: the outbox's unfinished entries and the live rooms are
   * kept in the embedded store (embedded-journal.ts); what the last run left comes back.
   */
  private async openJournal(sor: StoreOfRecord): Promise<void> {
    if (this.journal || !this.journaled() || !(this.outbox instanceof MemoryOutbox)) return;
    await migrateJournal(sor.db);
    if (!sor.batch) return;
    const journal = new EmbeddedJournal(
      sor.db,
      (statements) => sor.batch!(statements),
      (err) => this.journalFailed(err),
      () => {
        if (!this.journalFailing) return;
        this.journalFailing = false;
        if (!this.writeFailing) this.problem = null;
      },
    );
    const kept = await journal.load();
    for (const [group, messages] of kept.outbox) this.outbox.restore(group, messages, kept.outboxBytes.get(group));
    this.outbox.setJournal(journal);
    this.journal = journal;
    if (this.pushSubscriptions) {
      this.pushSubscriptions.restore(kept.pushSubscriptions);
      this.pushSubscriptions.setJournal(journal);
    }
    for (const [code, room] of this.earlyRooms ?? []) journal.roomChanged(code, room);
    this.earlyRooms = null;
    for (const [id, s] of this.earlySeries ?? []) journal.seriesChanged(id, s);
    this.earlySeries = null;
    for (const [identity, token] of this.earlyFeeds ?? []) journal.feedChanged(identity, token);
    this.earlyFeeds = null;
    // A kept room whose code a room of this run took meanwhile is not put back (the newer one wins).
    const left: Kept = { rooms: kept.rooms, series: kept.series, feeds: kept.feeds };
    if (this.keptListener) {
      this.keptListener(left);
      this.keptListener = null;
      this.kept = NOTHING_KEPT;
    } else {
      this.kept = left;
    }
    const waiting = [...kept.outbox.values()].reduce((n, l) => n + l.length, 0);
    if (waiting > 0 || kept.rooms.length > 0 || kept.series.length > 0 || kept.feeds.length > 0 || kept.pushSubscriptions.length > 0) {
      this.log.info(
        { rooms: kept.rooms.length, series: kept.series.length, calendar_feeds: kept.feeds.length, push_subscriptions: kept.pushSubscriptions.length, outbox_entries: waiting },
        'restored what the last run left',
      );
    }
  }

  private journalFailed(err: unknown): void {
    const problem = explainStoreError(err, this.config);
    if (problem) {
      if (this.problem?.message !== problem.message) this.log.error({ data_dir: problem.path, code: problem.code, err: (err as Error).message }, problem.message);
      this.problem = problem;
      this.journalFailing = true;
    } else {
      this.warn(err, 'keeping rooms and the outbox in the embedded store failed; will retry');
    }
  }

  private async refresh(): Promise<void> {
    if (!this.sor || this.stopped) return;
    try {
      await this.sor.ping();
      this.state = 'ok';
    } catch {
      this.state = 'down';
    }
  }

  private async write(batch: OutboxMessage[]): Promise<string[]> {
    const { done, inserted } = await this.writer!.write(batch);
    this.state = 'ok';
    if (this.writeFailing && this.problem) this.log.info({ database: this.config.kind }, 'writing results works again');
    this.writeFailing = false;
    if (!this.journalFailing) this.problem = null;
    this.metrics.recordsWritten.inc(inserted);
    return done;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wakeConnect();
    if (this.pinger) clearInterval(this.pinger);
    await this.consumer?.stop();
    await this.starting;
    if (this.outbox instanceof MemoryOutbox) this.outbox.setJournal(null);
    this.pushSubscriptions?.setJournal(null);
    await this.journal?.close();
    await this.sor?.close().catch(() => {});
  }
}

/** An error's message for a log line (an object logged as such shows as "[object Object]"). */
function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** What a dead letter is logged with: ids and sizes (never the identities its results carry). */
function deadLetterFields(entry: OutboxEntry): Record<string, string | number | undefined> {
  const d = entry.data;
  return {
    type: entry.type,
    room: 'room_code' in d ? d.room_code : undefined,
    room_id: 'room_id' in d ? d.room_id : undefined,
    run_started_at: 'run_started_at' in d ? d.run_started_at : undefined,
    round: 'round' in d ? d.round : undefined,
    results: entry.type === 'round.completed' ? entry.data.results.length : undefined,
  };
}
