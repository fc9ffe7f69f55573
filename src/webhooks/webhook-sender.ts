/**
 * Signed webhooks (Standard Webhooks, via the `standardwebhooks` package) from the
 * outbox's `webhooks` group: at least once, since an entry is acknowledged only after a
 * 2xx; retried with exponential backoff per entry (Outbox.defer: a failing entry waits
 * alone while the rest flow), the loop backing off only when a whole batch
 * failed; given up after `maxAttempts`
 * (counted and logged). The `webhook-id` is the entry's id, the same on every retry, so
 * the receiver can drop a duplicate. A slow receiver holds up only this loop (each POST
 * has a timeout); rooms never wait for it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { type ConsumerOptions, OutboxConsumer } from '../store/outbox-consumer.js';
import type { OutboxMetrics } from '../persistence/outbox-metrics.js';
import type { Outbox, OutboxMessage } from '../store/outbox.js';
import { throttled } from '../throttled.js';
import { webhookBody } from './webhook-payload.js';

export const WEBHOOK_GROUP = 'webhooks';

export interface WebhookConfig {
  url: string;
  secret: string;
  maxAttempts: number;
  timeoutMs: number;
}

export const defaultWebhookConsumerOptions: ConsumerOptions = { batch: 20, blockMs: 1_000, backoffMinMs: 500, backoffMaxMs: 30_000 };

/** Concurrent POSTs per batch: enough to keep up, few enough not to flood a receiver. */
const CONCURRENCY = 8;

export class WebhookSender {
  private readonly signer: Webhook;
  private readonly consumer: OutboxConsumer;
  /** Failed attempts per entry id on this instance (an entry claimed elsewhere starts over there). */
  private readonly attempts = new Map<string, number>();
  private readonly warn: (obj: object, msg: string) => void;
  /** The outbox defers single entries (memory): failures back off per entry. */
  private readonly perEntry: boolean;

  constructor(
    private readonly config: WebhookConfig,
    private readonly outbox: Outbox,
    private readonly metrics: OutboxMetrics,
    log: FastifyBaseLogger,
    private readonly opts: ConsumerOptions = defaultWebhookConsumerOptions,
  ) {
    this.signer = new Webhook(config.secret);
    this.warn = throttled(5_000, (obj: object, msg: string) => log.warn(obj, msg));
    this.perEntry = typeof outbox.defer === 'function';
    this.consumer = new OutboxConsumer(
      outbox,
      WEBHOOK_GROUP,
      (batch) => this.deliverBatch(batch),
      (err) => this.warn({ err: String(err) }, 'webhook outbox read failed'),
      { ...opts, perEntryRetry: this.perEntry },
    );
  }

  start(): void {
    this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  private async deliverBatch(batch: OutboxMessage[]): Promise<string[]> {
    const done: string[] = [];
    for (let i = 0; i < batch.length; i += CONCURRENCY) {
      const slice = batch.slice(i, i + CONCURRENCY);
      const ok = await Promise.all(slice.map((m) => this.deliver(m)));
      slice.forEach((m, j) => ok[j] && done.push(m.id));
    }
    return done;
  }

  /** True when the entry is finished: delivered, or given up. */
  private async deliver(m: OutboxMessage): Promise<boolean> {
    const id = `msg_${m.entry.id}`;
    const body = JSON.stringify(webhookBody(m.entry));
    const now = new Date();
    let failure: string;
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'focusroom-webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.signer.sign(id, now, body),
        },
        body,
      });
      await res.body?.cancel().catch(() => {});
      if (res.status >= 200 && res.status < 300) {
        this.attempts.delete(m.entry.id);
        this.metrics.webhookDeliveries.inc({ result: 'ok' });
        return true;
      }
      failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    const tries = (this.attempts.get(m.entry.id) ?? 0) + 1;
    if (tries >= this.config.maxAttempts) {
      this.attempts.delete(m.entry.id);
      this.metrics.webhookDeliveries.inc({ result: 'failed' });
      this.warn({ webhook_id: id, type: m.entry.type, tries, failure }, 'webhook given up');
      return true;
    }
    this.attempts.set(m.entry.id, tries);
    if (this.perEntry) {
      // This entry alone waits (jittered, doubling per try up to the cap); the batch's others are done or retried on their own.
      const wait = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** (tries - 1)) * (0.5 + Math.random() / 2);
      this.outbox.defer!(WEBHOOK_GROUP, [m.id], Date.now() + wait);
    }
    this.metrics.webhookDeliveries.inc({ result: 'retry' });
    this.warn({ webhook_id: id, type: m.entry.type, tries, failure }, 'webhook failed; will retry');
    return false;
  }
}
