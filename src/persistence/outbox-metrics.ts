/** Metrics of the outbox and its readers, registered in the app's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Outbox } from '../store/outbox.js';

export class OutboxMetrics {
  readonly dropped: Counter;
  readonly recordsWritten: Counter;
  readonly writeFailures: Counter;
  readonly deadLetters: Counter;
  readonly webhookDeliveries: Counter;

  constructor(registry: Registry, outbox: Outbox, groups: string[]) {
    const registers = [registry];
    const statsOf = async (group: string) => {
      try {
        return await outbox.stats(group);
      } catch {
        return null; // store unreachable: keep the last values
      }
    };
    new Gauge({
      name: 'focusroom_outbox_depth',
      help: 'Outbox entries not yet handled by a reader group (db = store of record, webhooks)',
      labelNames: ['group'],
      registers,
      async collect() {
        for (const g of groups) {
          const s = await statsOf(g);
          if (s) this.set({ group: g }, s.depth);
        }
      },
    });
    new Gauge({
      name: 'focusroom_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox entry a reader group has not handled yet',
      labelNames: ['group'],
      registers,
      async collect() {
        for (const g of groups) {
          const s = await statsOf(g);
          if (s) this.set({ group: g }, s.oldestAgeMs / 1000);
        }
      },
    });
    this.dropped = new Counter({
      name: 'focusroom_outbox_dropped_total',
      help: 'Entries dropped because the memory outbox was full',
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        for (const g of groups) this.inc({ group: g }, outbox.dropped(g));
      },
    });
    this.recordsWritten = new Counter({ name: 'focusroom_db_results_written_total', help: 'Participant results inserted into the store of record (repeats excluded)', registers });
    this.writeFailures = new Counter({ name: 'focusroom_db_write_failures_total', help: 'Store-of-record batches that failed and will be retried', registers });
    this.deadLetters = new Counter({
      name: 'focusroom_db_dead_letters_total',
      help: 'Completed rounds set aside: each failed alone, with the database answering, on every attempt (logged once each)',
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'focusroom_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: ok, retry (will be tried again), failed (gave up)',
      labelNames: ['result'],
      registers,
    });
  }
}
