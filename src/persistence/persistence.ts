/**
 * The store of record beside the rooms: opens the database and applies migrations in the
 * background (retrying while it is away, so the server starts and serves rooms without
 * it), then runs the writer, which moves completed rounds from the outbox into the
 * database. `status()` is a cached answer for /health, refreshed by a background ping,
 * so a slow database never slows a health check either.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RecapRecord } from '../domain/outbox-entries.js';
import type { RoundRecord } from '../domain/round-record.js';
import type { Outbox } from '../store/outbox.js';
import { throttled } from '../throttled.js';
import { type DatabaseConfig, openDatabase, type StoreOfRecord } from './database.js';
import { type ConsumerOptions, defaultConsumerOptions, OutboxConsumer } from './outbox-consumer.js';
import type { OutboxMetrics } from './outbox-metrics.js';
import { ResultsRepository } from './results-repository.js';

export type DatabaseStatus = 'ok' | 'down' | 'disabled';

export const DB_GROUP = 'db';
const PING_EVERY_MS = 2_000;

export class Persistence {
  private sor: StoreOfRecord | null = null;
  private repo: ResultsRepository | null = null;
  private consumer: OutboxConsumer | null = null;
  private state: 'ok' | 'down' = 'down';
  private stopped = false;
  private starting: Promise<void> | null = null;
  private pinger: NodeJS.Timeout | null = null;
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
    this.warn = throttled(5_000, (err: unknown, msg: string) => log.warn({ err: err instanceof Error ? err.message : err }, msg));
  }

  get kind(): 'postgres' | 'pglite' {
    return this.config.kind;
  }

  /** Starts in the background; resolves once the database is migrated (tests wait on it, the server does not). */
  start(): Promise<void> {
    this.starting ??= this.connect();
    return this.starting;
  }

  status(): DatabaseStatus {
    return this.state;
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
        break;
      } catch (err) {
        if (this.stopped) break;
        this.warn(err, 'database unavailable; rooms run on, results wait in the outbox');
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
    if (this.stopped || !this.sor) return;
    this.repo = new ResultsRepository(this.sor.db);
    this.state = 'ok';
    this.pinger = setInterval(() => void this.refresh(), PING_EVERY_MS);
    this.pinger.unref();
    this.consumer = new OutboxConsumer(this.outbox, DB_GROUP, (batch) => this.write(batch), (err) => {
      this.state = 'down';
      this.metrics.writeFailures.inc();
      this.warn(err, 'writing results failed; will retry');
    }, this.consumerOpts);
    this.consumer.start();
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

  private async write(batch: { id: string; entry: { type: string; data: unknown } }[]): Promise<string[]> {
    const records = batch.filter((m) => m.entry.type === 'round.completed').map((m) => m.entry.data as RoundRecord);
    const inserted = await this.repo!.insertRounds(records);
    // After the rounds: a recap in the same batch finds its round's rows.
    await this.repo!.applyRecaps(batch.filter((m) => m.entry.type === 'participant.recap').map((m) => m.entry.data as RecapRecord));
    this.state = 'ok';
    this.metrics.recordsWritten.inc(inserted);
    return batch.map((m) => m.id);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wakeConnect();
    if (this.pinger) clearInterval(this.pinger);
    await this.consumer?.stop();
    await this.starting;
    await this.sor?.close().catch(() => {});
  }
}
