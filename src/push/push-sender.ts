/**
 * Web Push from the outbox's `push` group (docs/push.md): each notice (domain/push-notices.ts)
 * goes to every subscription of each identity it names, at least once per (notice,
 * subscription) cluster-wide and, short of an instance dying mid-request, once; off the
 * rooms' event loop path.
 *
 * - The outbox hands each notice to one instance at least once (a dead reader's entries
 *   are claimed by another once idle PUSH_LEASE_MS).
 * - Before sending, the instance leases each (notice, subscription) in the subscription
 *   store (one script per batch on Redis): taken by this instance for `leaseMs`, renewed
 *   while it is under way (the outbox entry is touched with it), and marked done once the
 *   push service answered for good. A survivor that takes the entry of a dead instance
 *   skips what is done and sends the rest once the dead one's leases lapse: a request
 *   that was in flight when its instance died is sent again, with the same `Topic`.
 * - The entry is acknowledged once every delivery of it is done; until then this reader
 *   holds it (Outbox.hold), so its own reads skip it.
 * - A graceful stop reads nothing more, drops the jobs the worker has not started, gives
 *   requests in flight STOP_WAIT_MS to answer, records what was sent, then releases the
 *   leases of everything else and hands its entries back (Outbox.handBack): another
 *   instance sends them at once, not a lease later. A request still unanswered then is
 *   sent again there (at least once; same Topic, so the device shows it once).
 * - The main thread's share (reading, subscription lookup, lease, JSON) runs in slices of
 *   at most ~2 ms that yield to the event loop (and at once when a running room's tick is
 *   due); encryption, signing and the HTTP request run in a worker thread (push-worker.ts),
 *   handed jobs and answering results in batches.
 * - 2xx: sent. 404/410: the subscription is gone and is deleted. 429, 5xx or no answer:
 *   retried with exponential backoff, never sooner than Retry-After, never past the
 *   notice's expiry, at most MAX_ATTEMPTS. Other 4xx: given up (a bad request stays bad).
 *   Retries wait in this instance's memory (bounded: RETRY_MAX, then given up and
 *   counted); at most MAX_PENDING_DELIVERIES are under way, beyond that the outbox holds
 *   the rest: a push service that hangs or fails forever costs one request timeout per
 *   attempt and bounded memory, and never holds up other notices.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import { nanoid } from 'nanoid';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { PushNotice } from '../domain/push-notices.js';
import { type ConsumerOptions, OutboxConsumer } from '../store/outbox-consumer.js';
import type { Outbox, OutboxMessage } from '../store/outbox.js';
import type { PushSubscriptionRecord, PushSubscriptions } from '../store/push-subscriptions.js';
import { nextTurn } from '../slices.js';
import { throttled } from '../throttled.js';
import { pushPayload, topicOf, ttlSeconds, unreachableSubject, urgencyOf } from './push-message.js';
import type { PushJob, PushResult, PushWorkerData, StopSending, WorkerPriority } from './push-worker.js';

export const PUSH_GROUP = 'push';

export interface PushConfig {
  vapid: { publicKey: string; privateKey: string; subject: string };
  timeoutMs: number;
  /** A delivery's lease: renewed every third of it while under way; a dead owner's is taken over after it. */
  leaseMs: number;
  /** Added to the worker thread's nice value (Linux), so the main thread wins the CPU; 0 leaves it alone. */
  workerNice: number;
  /** Linux: the worker thread runs under SCHED_IDLE (`chrt --idle`): any other thread preempts it at once; workerNice if that fails. */
  workerIdle: boolean;
}

export interface PushSenderOptions {
  consumer: ConsumerOptions;
  /** First retry delay; doubled per attempt up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
}

/** Notices per batch: a second's 10,000 reminders are a few batches. */
export const defaultPushSenderOptions: PushSenderOptions = {
  consumer: { batch: 1_000, blockMs: 1_000, backoffMinMs: 200, backoffMaxMs: 10_000, holds: true },
  retryMinMs: 1_000,
  retryMaxMs: 5 * 60_000,
};

const MAX_ATTEMPTS = 8;
/** Deliveries waiting for a retry on this instance, at most. */
const RETRY_MAX = 10_000;
/** Requests the worker has in flight at once. */
const MAX_IN_FLIGHT = 256;
/** Deliveries under way at most (in the worker or waiting for a retry); beyond, new notices wait in the outbox. */
const MAX_PENDING_DELIVERIES = 20_000;
/** A done mark outlives its notice by this much (a redelivery after expiry finds it still). */
const DONE_MARGIN_MS = 60_000;
/** On shutdown, requests in flight get this long to finish. */
const STOP_WAIT_MS = 2_000;
/** Main-thread work between two yields to the event loop. */
const SLICE_MS = 2;
/** Outbox entries prepared between two looks at the slice's time. */
const ENTRIES_PER_STEP = 50;
/** Answers handled between two looks at the slice's time. */
const ANSWERS_PER_STEP = 64;
/** Finished deliveries are marked done and their entries acknowledged this often, together. */
const FLUSH_MS = 50;

interface Delivery {
  job: PushJob;
  identity: string;
  subscriptionId: string;
  notice: PushNotice;
  /** The outbox delivery id of the entry it belongs to. */
  entry: string;
  attempts: number;
}

type Outcome = 'sent' | 'gone' | 'retry' | 'failed';

/** The worker file beside this one: compiled `.js` in dist/, the `.ts` source under tests (Node strips its types). */
const workerUrl = (): URL => new URL(import.meta.url.endsWith('.ts') ? './push-worker.ts' : './push-worker.js', import.meta.url);

export class PushSender {
  private readonly consumer: OutboxConsumer;
  private worker: Worker | null = null;
  /** This process's name on its leases (a restarted instance is another owner). */
  private readonly owner = nanoid(12);
  /** Deliveries under way here (in the worker or waiting for a retry), by job key. */
  private readonly active = new Map<string, Delivery>();
  /** Deliveries in the worker, not answered yet. */
  private inWorker = 0;
  /** Outbox entries held here: deliveries of them not finished, and whether another owner holds some. */
  private readonly unfinished = new Map<string, { left: number; heldElsewhere: boolean }>();
  private readonly retries = new Map<string, number>();
  private outgoing: PushJob[] = [];
  private answers: PushResult[] = [];
  private answering: Promise<void> | null = null;
  /** Finished since the last flush: keys to mark done (with their ttl), entries to acknowledge or hand back. */
  private finished: { key: string; ttlMs: number }[] = [];
  private toAck: string[] = [];
  private toRelease: string[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly wakers: (() => void)[] = [];
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private sliceStart = 0;
  private urgent: () => boolean = () => false;
  private readonly results: Counter;
  private readonly warn: (obj: object, msg: string) => void;

  constructor(
    private readonly config: PushConfig,
    private readonly outbox: Outbox,
    private readonly subs: PushSubscriptions,
    private readonly clock: Clock,
    registry: Registry,
    private readonly log: FastifyBaseLogger,
    private readonly opts: PushSenderOptions = defaultPushSenderOptions,
  ) {
    this.warn = throttled(5_000, (obj: object, msg: string) => log.warn(obj, msg));
    if (unreachableSubject(config.vapid.subject)) {
      log.warn({ subject: config.vapid.subject }, 'VAPID_SUBJECT names a host that is no real contact: Apple refuses such pushes (403 BadJwtToken); use a real mailto: address or https: URL');
    }
    this.results = new Counter({
      name: 'focusroom_push_deliveries_total',
      help: 'Web Push attempts by result: sent, gone (404/410, subscription deleted), retry, failed (given up), duplicate (done already), held (leased by another instance), handed_over (not sent when this instance stopped: released to another)',
      labelNames: ['result'],
      registers: [registry],
    });
    const active = this.active;
    new Gauge({
      name: 'focusroom_push_pending',
      help: 'Web Push deliveries under way on this instance (leased, not answered for good yet)',
      registers: [registry],
      collect() {
        this.set(active.size);
      },
    });
    this.consumer = new OutboxConsumer(outbox, PUSH_GROUP, (batch) => this.handle(batch), (err) => this.warn({ err: String(err) }, 'push outbox read failed; will retry'), {
      ...opts.consumer,
      holds: true,
    });
  }

  /** Something more urgent than this sender's main-thread work is due (a running room's tick): it yields at once. */
  yieldTo(urgent: () => boolean): void {
    this.urgent = urgent;
  }

  start(): void {
    const data: PushWorkerData = { vapid: this.config.vapid, timeoutMs: this.config.timeoutMs, maxInFlight: MAX_IN_FLIGHT, nice: this.config.workerNice, idle: this.config.workerIdle };
    this.worker = new Worker(workerUrl(), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (results: PushResult[] | WorkerPriority) => {
      if (!Array.isArray(results)) {
        if (results.error) this.log.warn({ tid: results.tid, error: results.error, now: results.priority }, 'PUSH_WORKER_IDLE: could not move the push worker thread to SCHED_IDLE (chrt); it runs at PUSH_WORKER_NICE');
        else this.log.info({ tid: results.tid, priority: results.priority }, 'push worker thread scheduling');
        return;
      }
      this.inWorker = Math.max(0, this.inWorker - results.length);
      for (const r of results) this.answers.push(r);
      void this.answer();
    });
    this.worker.on('error', (err) => this.warn({ err: String(err) }, 'push worker failed'));
    this.retryTimer = setInterval(() => this.runRetries(), 250);
    this.retryTimer.unref();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.config.leaseMs / 3)));
    this.renewTimer.unref();
    this.consumer.start();
  }

  /**
   * Graceful stop (once; later calls wait for the first): no more reads, jobs the worker
   * has not started are dropped, requests in flight get STOP_WAIT_MS to answer and what
   * they sent is recorded. Then the worker ends, so nothing more goes out from here, and
   * only then is every delivery still under way (never started, waiting for a retry, or
   * unanswered) released and its entry handed back: another instance (or this one after
   * a restart) sends it at once. An unanswered request may have reached the push
   * service: it is sent again (at least once, not at most once; docs/push.md).
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retries.clear();
    for (const wake of this.wakers.splice(0)) wake();
    await Promise.race([this.consumer.stop(), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    // Messages keep their order: every job posted before this is dropped or under way.
    this.worker?.postMessage('stop' satisfies StopSending);
    const drained = new Promise<void>((resolve) => {
      const check = () => (this.inWorker === 0 ? resolve() : setTimeout(check, 20).unref());
      check();
    });
    await Promise.race([drained, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    await this.worker?.terminate();
    this.worker = null;
    // Renewed until here: no other instance may take a delivery this one could still be sending.
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.answer();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flushing;
    await this.flush();
    await this.handOver();
  }

  /** What this instance did not send: its leases end now and its entries go to the next reader. */
  private async handOver(): Promise<void> {
    const left = [...this.active.keys()];
    this.active.clear();
    this.unfinished.clear();
    try {
      if (left.length > 0) {
        await this.subs.release(left, this.owner);
        this.results.inc({ result: 'handed_over' }, left.length);
      }
      await this.outbox.handBack?.(PUSH_GROUP);
    } catch (err) {
      // Left leased and pending: another instance takes them once the lease lapses, as after a crash.
      this.warn({ err: String(err), deliveries: left.length }, 'could not hand unsent pushes over; they go out after the lease');
    }
  }

  /** Deliveries waiting for a retry on this instance. */
  get retrying(): number {
    return this.retries.size;
  }

  /** Yields to the event loop once this slice of main-thread work has run SLICE_MS, or a tick is due. */
  private async slice(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS && !this.urgent()) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }

  /**
   * A batch of notices, in steps that yield: each delivery is leased and handed to the
   * worker; entries with nothing left to send are returned (acknowledged), the others
   * are held until their deliveries are done.
   */
  private async handle(batch: OutboxMessage[]): Promise<string[]> {
    const done: string[] = [];
    for (let i = 0; i < batch.length; i += ENTRIES_PER_STEP) {
      await this.slice();
      await this.prepare(batch.slice(i, i + ENTRIES_PER_STEP), done);
    }
    await this.belowLimit();
    return done;
  }

  private async prepare(part: OutboxMessage[], done: string[]): Promise<void> {
    const now = this.clock.now();
    const fresh: { id: string; key: string; notice: PushNotice }[] = [];
    const again: string[] = [];
    for (const m of part) {
      if (m.entry.type !== 'push.notice' || m.entry.data.expires_at <= now) done.push(m.id); // its moment has passed: nothing to tell
      else if (this.unfinished.has(m.id)) again.push(m.id); // under way here already (read again): held again
      else fresh.push({ id: m.id, key: m.entry.id, notice: m.entry.data });
    }
    if (again.length > 0) this.outbox.hold?.(PUSH_GROUP, again);
    if (fresh.length === 0) return;
    const identities = [...new Set(fresh.flatMap((n) => n.notice.identities))];
    const subsOf: Map<string, PushSubscriptionRecord[]> = await this.subs.listMany(identities);
    const deliveries: Delivery[] = [];
    for (const { id, key, notice } of fresh) {
      const payload = JSON.stringify(pushPayload(notice));
      for (const identity of notice.identities) {
        for (const s of subsOf.get(identity) ?? []) {
          deliveries.push({
            identity,
            subscriptionId: s.id,
            notice,
            entry: id,
            attempts: 0,
            job: { key: `${key}:${s.id}`, endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth, payload, ttl: 0, urgency: urgencyOf(notice), topic: topicOf(notice) },
          });
        }
      }
    }
    const states = deliveries.length > 0 ? await this.subs.claim(deliveries.map((d) => d.job.key), this.owner, this.config.leaseMs) : [];
    const counts = new Map<string, { mine: number; held: number }>();
    let duplicates = 0;
    let heldElsewhere = 0;
    deliveries.forEach((d, i) => {
      const c = counts.get(d.entry) ?? { mine: 0, held: 0 };
      counts.set(d.entry, c);
      if (states[i] === 'done') duplicates += 1;
      else if (states[i] === 'held') {
        c.held += 1;
        heldElsewhere += 1;
      } else if (!this.active.has(d.job.key)) {
        c.mine += 1;
        this.active.set(d.job.key, d);
        this.send(d);
      }
    });
    if (duplicates > 0) this.results.inc({ result: 'duplicate' }, duplicates);
    if (heldElsewhere > 0) this.results.inc({ result: 'held' }, heldElsewhere);
    const hold: string[] = [];
    const later: string[] = [];
    for (const { id } of fresh) {
      const c = counts.get(id);
      if (!c || (c.mine === 0 && c.held === 0)) done.push(id);
      else if (c.mine === 0) later.push(id);
      else {
        this.unfinished.set(id, { left: c.mine, heldElsewhere: c.held > 0 });
        hold.push(id);
      }
    }
    // Before this step yields: an answer cannot finish an entry before it is held.
    if (hold.length > 0) this.outbox.hold?.(PUSH_GROUP, hold);
    // Leased by a live (or lately dead) instance: look again once its lease could have lapsed.
    if (later.length > 0) this.outbox.defer?.(PUSH_GROUP, later, this.clock.now() + this.config.leaseMs);
  }

  private belowLimit(): Promise<void> {
    if (this.active.size <= MAX_PENDING_DELIVERIES || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  /** One attempt: the job goes to the worker with the next ones of this turn, in one message. */
  private send(d: Delivery): void {
    d.attempts += 1;
    d.job.ttl = ttlSeconds(d.notice, this.clock.now());
    if (!this.worker || this.stopped) {
      this.answers.push({ key: d.job.key, status: 0, retryAfterMs: null, error: 'stopped', unsent: true });
      void this.answer();
      return;
    }
    this.inWorker += 1;
    this.outgoing.push(d.job);
    if (this.outgoing.length === 1) {
      queueMicrotask(() => {
        const jobs = this.outgoing;
        this.outgoing = [];
        this.worker?.postMessage(jobs);
      });
    }
  }

  /** The worker's answers, in slices that yield like the rest; resolves once none is left. */
  private answer(): Promise<void> {
    this.answering ??= this.answerAll().finally(() => {
      this.answering = null;
      if (this.answers.length > 0) void this.answer(); // came while this run was ending
    });
    return this.answering;
  }

  private async answerAll(): Promise<void> {
    while (this.answers.length > 0) {
      await this.slice();
      const step = this.answers.splice(0, ANSWERS_PER_STEP);
      const now = this.clock.now();
      for (const r of step) this.settle(r, now);
    }
  }

  private settle(r: PushResult, now: number): void {
    const d = this.active.get(r.key);
    if (!d) return;
    // Stopping: what was not sent for good stays under way, and is handed over at the end of stop().
    if (r.unsent) return;
    const outcome = this.judge(d, r, now);
    if (this.stopped && outcome !== 'sent' && outcome !== 'gone') return;
    this.results.inc({ result: outcome });
    if (outcome === 'retry') return;
    this.active.delete(r.key);
    this.finished.push({ key: r.key, ttlMs: d.notice.expires_at - now + DONE_MARGIN_MS });
    if (outcome === 'gone') {
      void this.subs.remove(d.identity, d.subscriptionId).catch((err: unknown) => this.warn({ err: String(err) }, 'could not delete a gone push subscription'));
    } else if (outcome === 'failed') {
      this.warn({ notice: d.job.key, status: r.status, error: r.error, attempts: d.attempts }, 'push given up');
    }
    const u = this.unfinished.get(d.entry);
    if (u && --u.left === 0) {
      this.unfinished.delete(d.entry);
      (u.heldElsewhere ? this.toRelease : this.toAck).push(d.entry);
    }
    this.scheduleFlush(FLUSH_MS);
    if (this.active.size <= MAX_PENDING_DELIVERIES) for (const wake of this.wakers.splice(0)) wake();
  }

  private scheduleFlush(ms: number): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.flushing = this.flush().finally(() => (this.flushing = null));
    }, ms);
  }

  /**
   * Marks the finished deliveries done, then acknowledges the entries they completed
   * (in that order: an entry acknowledged is never read again, a done mark is what a
   * redelivery before the acknowledgement skips). Failures are kept for the next flush.
   */
  private async flush(): Promise<void> {
    const finished = this.finished;
    const acks = this.toAck;
    const released = this.toRelease;
    this.finished = [];
    this.toAck = [];
    this.toRelease = [];
    try {
      if (finished.length > 0) await this.subs.finish(finished.map((f) => f.key), Math.max(...finished.map((f) => f.ttlMs)));
      if (acks.length > 0) await this.outbox.ack(PUSH_GROUP, acks);
    } catch (err) {
      this.warn({ err: String(err) }, 'recording sent pushes failed; will retry');
      this.finished.push(...finished);
      this.toAck.push(...acks);
      this.toRelease.push(...released);
      if (!this.stopped) this.scheduleFlush(1_000);
      return;
    }
    if (released.length > 0) {
      // Some deliveries of these entries are another owner's: read them again once its lease could have lapsed.
      this.outbox.release?.(PUSH_GROUP, released);
      this.outbox.defer?.(PUSH_GROUP, released, this.clock.now() + this.config.leaseMs);
    }
  }

  /** Extends the leases of what is under way here, and tells the outbox its entries are still being worked on. */
  private async renew(): Promise<void> {
    if (this.active.size === 0) return;
    try {
      await this.subs.renew([...this.active.keys()], this.owner, this.config.leaseMs);
      await this.outbox.touch?.(PUSH_GROUP, [...this.unfinished.keys()]);
    } catch (err) {
      this.warn({ err: String(err) }, 'renewing push leases failed; will retry');
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
    this.retries.set(d.job.key, at);
    return 'retry';
  }

  private runRetries(): void {
    const now = this.clock.now();
    for (const [key, at] of this.retries) {
      if (at > now) continue;
      this.retries.delete(key);
      const d = this.active.get(key);
      if (d) this.send(d);
    }
  }
}
