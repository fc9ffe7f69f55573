/**
 * Counts what the cluster adapter receives from Redis, for /metrics
 * (`focusroom_adapter_messages_received_total`): the per-instance cost of cluster
 * broadcasts that `npm run bench -- --only scale` compares between the topologies.
 * Both adapters hand every message they take from Redis to `onRawMessage` (sharded
 * pub/sub: each message on a subscribed channel; streams: each entry read from the
 * stream), including the instance's own broadcasts, which the adapter then drops.
 */
import type { Counter } from 'prom-client';
import type { TypedServer } from '../realtime/types.js';

export function countAdapterMessages(io: TypedServer, counter: Counter): void {
  const adapter = io.of('/').adapter as unknown as { onRawMessage?: (...args: unknown[]) => unknown };
  const original = adapter.onRawMessage?.bind(adapter);
  if (!original) return;
  adapter.onRawMessage = (...args) => {
    counter.inc();
    return original(...args);
  };
}
