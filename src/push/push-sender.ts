/**
 * Web Push from the outbox's `push` group (docs/push.md): each notice (domain/push-notices.ts)
 * goes to every subscription of each identity it names, once per (notice, subscription)
 * cluster-wide, off the rooms' event loop path.
 *
 * - The outbox hands each notice to one instance at least once (a dead reader's entries
 *   are claimed by another). Before sending, the instance claims (notice, subscription)
 *   in the subscription store (SET NX on Redis), so a redelivered notice is not sent twice.
 * - Encryption, signing and the HTTP request run in a worker thread (push-worker.ts).
 * - 2xx: sent. 404/410: the subscription is gone and is deleted. 429, 5xx or no answer:
 *   retried with exponential backoff, never sooner than Retry-After, never past the
 *   notice's expiry, at most MAX_ATTEMPTS. Other 4xx: given up (a bad request stays bad).
 * - An outbox entry is acknowledged once its deliveries are claimed and handed to the
 *   worker (at most MAX_PENDING_DELIVERIES at once; past that the outbox holds the rest).
 *   Retries wait in this instance's memory (bounded: RETRY_MAX, then given up and
 *   counted): a push service that hangs or fails forever costs one request timeout per
 *   attempt and bounded memory, and never holds up other notices. A delivery claimed by
 *   an instance that dies before it succeeds is lost: at most once per (notice,
 *   subscription), never twice.
 */
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { PushNotice } from '../domain/push-notices.js';
import { type ConsumerOptions, OutboxConsumer } from '../store/outbox-consumer.js';
import type { Outbox, OutboxMessage } from '../store/outbox.js';
import type { PushSubscriptionRecord, PushSubscriptions } from '../store/push-subscriptions.js';
import { throttled } from '../throttled.js';
import { pushPayload, topicOf, ttlSeconds, urgencyOf } from './push-message.js';
import type { PushJob, PushResult, PushWorkerData } from './push-worker.js';

export const PUSH_GROUP = 'push';

export interface PushConfig {
  vapid: { publicKey: string; privateKey: string; subject: string };
  timeoutMs: number;
}

export interface PushSenderOptions {
  consumer: ConsumerOptions;
  /** First retry delay; doubled per attempt up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
}

/** Notices per batch: a second's 10,000 reminders are a few batches. */
export const defaultPushSenderOptions: PushSenderOptions = {
  consumer: { batch: 1_000, blockMs: 1_000, backoffMinMs: 200, backoffMaxMs: 10_000 },
  retryMinMs: 1_000,
  retryMaxMs: 5 * 60_000,
};

const MAX_ATTEMPTS = 8;
/** Deliveries waiting for a retry on this instance, at most. */
const RETRY_MAX = 10_000;
/** Requests the worker has in flight at once. */
const MAX_IN_FLIGHT = 256;
/** Deliveries handed to the worker at most (queued there or in flight); beyond, new notices wait in the outbox. */
const MAX_PENDING_DELIVERIES = 20_000;
/** A claim outlives its notice by this much (a redelivery after expiry finds it still). */
const CLAIM_MARGIN_MS = 60_000;
/** On shutdown, requests in flight get this long to finish. */
const STOP_WAIT_MS = 2_000;

interface Delivery {
  job: PushJob;
  identity: string;
  subscriptionId: string;
  notice: PushNotice;
  attempts: number;
}

type Outcome = 'sent' | 'gone' | 'retry' | 'failed';

/** The worker file beside this one: compiled `.js` in dist/, the `.ts` source under tests (Node strips its types). */
const workerUrl = (): URL => new URL(import.meta.url.endsWith('.ts') ? './push-worker.ts' : './push-worker.js', import.meta.url);

export class PushSender {
  private readonly consumer: OutboxConsumer;
  private worker: Worker | null = null;
  private readonly waiting = new Map<string, (r: PushResult) => void>();
  private readonly retries = new Map<string, { d: Delivery; at: number }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private outgoing: PushJob[] = [];
  /** Deliveries handed to the worker and not answered yet, and who waits for that to drop. */
  private inFlight = 0;
  private readonly wakers: (() => void)[] = [];
  private stopped = false;
  private readonly results: Counter;
  private readonly warn: (obj: object, msg: string) => void;

  constructor(
    private readonly config: PushConfig,
    outbox: Outbox,
    private readonly subs: PushSubscriptions,
    private readonly clock: Clock,
    registry: Registry,
    log: FastifyBaseLogger,
    private readonly opts: PushSenderOptions = defaultPushSenderOptions,
  ) {
    this.warn = throttled(5_000, (obj: object, msg: string) => log.warn(obj, msg));
    this.results = new Counter({
      name: 'focusroom_push_deliveries_total',
      help: 'Web Push attempts by result: sent, gone (404/410, subscription deleted), retry, failed (given up), duplicate (claimed elsewhere)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.consumer = new OutboxConsumer(outbox, PUSH_GROUP, (batch) => this.handle(batch), (err) => this.warn({ err: String(err) }, 'push outbox read failed; will retry'), opts.consumer);
  }

  start(): void {
    const data: PushWorkerData = { vapid: this.config.vapid, timeoutMs: this.config.timeoutMs, maxInFlight: MAX_IN_FLIGHT };
    this.worker = new Worker(workerUrl(), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (results: PushResult[]) => {
      for (const r of results) {
        const done = this.waiting.get(r.key);
        this.waiting.delete(r.key);
        done?.(r);
      }
    });
    this.worker.on('error', (err) => this.warn({ err: String(err) }, 'push worker failed'));
    this.retryTimer = setInterval(() => this.runRetries(), 250);
    this.retryTimer.unref();
    this.consumer.start();
  }

  /** Lets requests in flight finish for a moment (they are claimed: nobody else sends them), then ends the worker. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retries.clear();
    await Promise.race([this.consumer.stop(), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    const drained = new Promise<void>((resolve) => {
      const check = () => (this.inFlight === 0 ? resolve() : setTimeout(check, 20).unref());
      check();
    });
    await Promise.race([drained, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    for (const [key, done] of this.waiting) done({ key, status: 0, retryAfterMs: null, error: 'stopped' });
    this.waiting.clear();
    await this.worker?.terminate();
  }

  /** Deliveries waiting for a retry on this instance. */
  get retrying(): number {
    return this.retries.size;
  }

  /** A batch of notices: every delivery is sent, given up or queued for a retry before the batch is acknowledged. */
  private async handle(batch: OutboxMessage[]): Promise<string[]> {
    const now = this.clock.now();
    const notices: { id: string; notice: PushNotice }[] = [];
    for (const m of batch) {
      if (m.entry.type !== 'push.notice') continue;
      if (m.entry.data.expires_at <= now) continue; // its moment has passed: nothing to tell
      notices.push({ id: m.entry.id, notice: m.entry.data });
    }
    const identities = [...new Set(notices.flatMap((n) => n.notice.identities))];
    const subsOf: Map<string, PushSubscriptionRecord[]> = identities.length > 0 ? await this.subs.listMany(identities) : new Map();
    const deliveries: Delivery[] = [];
    for (const { id, notice } of notices) {
      const payload = JSON.stringify(pushPayload(notice));
      for (const identity of notice.identities) {
        for (const s of subsOf.get(identity) ?? []) {
          deliveries.push({
            identity,
            subscriptionId: s.id,
            notice,
            attempts: 0,
            job: { key: `${id}:${s.id}`, endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth, payload, ttl: 0, urgency: urgencyOf(notice), topic: topicOf(notice) },
          });
        }
      }
    }
    // Claimed per (notice, subscription) until after the notice expires: another instance
    // holding the same notice (redelivered) skips what this one sends.
    const claims = await Promise.all(chunks(deliveries, 500).map((c) => this.subs.claim(c.map((d) => d.job.key), Math.max(...c.map((d) => d.notice.expires_at - now)) + CLAIM_MARGIN_MS)));
    const claimed = claims.flat();
    const mine = deliveries.filter((_, i) => claimed[i]);
    if (mine.length < deliveries.length) this.results.inc({ result: 'duplicate' }, deliveries.length - mine.length);
    // Not awaited: the claims already make each delivery this instance's alone (a
    // redelivered entry would skip it), so the entry is acknowledged once its deliveries
    // are handed to the worker, and the next batch goes out while these are in flight.
    // The outbox holds the rest while too many are in flight.
    for (const d of mine) this.track(this.attempt(d));
    await this.belowLimit();
    return batch.map((m) => m.id);
  }

  private track(p: Promise<void>): void {
    this.inFlight += 1;
    void p
      .catch((err: unknown) => this.warn({ err: String(err) }, 'push delivery failed'))
      .finally(() => {
        this.inFlight -= 1;
        if (this.inFlight <= MAX_PENDING_DELIVERIES) for (const wake of this.wakers.splice(0)) wake();
      });
  }

  private belowLimit(): Promise<void> {
    if (this.inFlight <= MAX_PENDING_DELIVERIES) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  private async attempt(d: Delivery): Promise<void> {
    const now = this.clock.now();
    d.attempts += 1;
    d.job.ttl = ttlSeconds(d.notice, now);
    const r = await this.post(d.job);
    const outcome = this.judge(d, r, now);
    this.results.inc({ result: outcome });
    if (outcome === 'gone') {
      await this.subs.remove(d.identity, d.subscriptionId).catch((err: unknown) => this.warn({ err: String(err) }, 'could not delete a gone push subscription'));
    } else if (outcome === 'failed') {
      this.warn({ notice: d.job.key, status: r.status, error: r.error, attempts: d.attempts }, 'push given up');
    }
  }

  /** What one answer means, queueing the retry when there is one. */
  private judge(d: Delivery, r: PushResult, now: number): Outcome {
    if (r.status >= 200 && r.status < 300) return 'sent';
    if (r.status === 404 || r.status === 410) return 'gone';
    const retryable = r.status === 0 || r.status === 429 || r.status >= 500;
    if (!retryable || d.attempts >= MAX_ATTEMPTS || this.stopped) return 'failed';
    const backoff = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** (d.attempts - 1));
    const at = now + Math.max(backoff * (0.75 + Math.random() / 2), r.retryAfterMs ?? 0);
    if (at >= d.notice.expires_at || this.retries.size >= RETRY_MAX) return 'failed';
    this.retries.set(d.job.key, { d, at });
    return 'retry';
  }

  private runRetries(): void {
    const now = this.clock.now();
    for (const [key, { d, at }] of this.retries) {
      if (at > now) continue;
      this.retries.delete(key);
      void this.attempt(d).catch((err: unknown) => this.warn({ err: String(err) }, 'push retry failed'));
    }
  }

  private post(job: PushJob): Promise<PushResult> {
    if (!this.worker || this.stopped) return Promise.resolve({ key: job.key, status: 0, retryAfterMs: null, error: 'stopped' });
    return new Promise((resolve) => {
      this.waiting.set(job.key, resolve);
      // One message per turn carries every job queued in it (10,000 reminders are a few messages, not 10,000).
      this.outgoing.push(job);
      if (this.outgoing.length === 1) {
        queueMicrotask(() => {
          const jobs = this.outgoing;
          this.outgoing = [];
          this.worker?.postMessage(jobs);
        });
      }
    });
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
