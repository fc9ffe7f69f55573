/**
 * Prometheus metrics. One registry per app (not prom-client's global), so several
 * apps in one test process never collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RoomStatus } from './contract/events.js';

export class Metrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({ name: 'focusroom_connections', help: 'Socket.IO connections open on this instance', registers: [this.registry] });
  readonly eventsIn = new Counter({ name: 'focusroom_events_in_total', help: 'Client events received, by event', labelNames: ['event'], registers: [this.registry] });
  readonly eventsOut = new Counter({ name: 'focusroom_events_out_total', help: 'Server events emitted (one per broadcast), by event', labelNames: ['event'], registers: [this.registry] });
  readonly preparedRuns = new Counter({
    name: 'focusroom_prepared_runs_total',
    help: 'Booked starts prepared ahead of starts_at (prepared), and how each went: committed (as prepared), changed (the room moved on since: run the ordinary way), stale (something else came due first: run the ordinary way)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly errors = new Counter({ name: 'focusroom_errors_total', help: 'Error replies, by code', labelNames: ['code'], registers: [this.registry] });
  readonly tickLateness = new Histogram({
    name: 'focusroom_tick_lateness_seconds',
    help: 'Delay between a tick\'s due time (whole second of ends_at) and its emission',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly storeLatency = new Histogram({
    name: 'focusroom_store_latency_seconds',
    help: 'Room store round-trip (Redis in cluster mode), by operation',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly transportCuts = new Counter({
    name: 'focusroom_transport_cuts_total',
    help: 'Connections closed by the server: slow consumer (unsent output past MAX_BUFFERED_BYTES), pong without ping, connect timeout (bare session)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly refusedConnections = new Counter({
    name: 'focusroom_refused_connections_total',
    help: 'Handshakes refused by a connection cap, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly shedEvents = new Counter({
    name: 'focusroom_shed_events_total',
    help: 'Client events refused before processing, by budget (address, instance, lag)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly seatHandshakes = new Counter({
    name: 'focusroom_seat_handshakes_total',
    help: 'Handshakes that carried a live seat (verified) and so skipped the per-address connection budget',
    registers: [this.registry],
  });
  readonly clockSteps = new Counter({
    name: 'focusroom_clock_steps_total',
    help: 'Wall-clock steps seen (a jump of more than 1 s against the monotonic clock), by direction',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly clockOffset = new Gauge({
    name: 'focusroom_clock_offset_seconds',
    help: 'Wall clock minus the clock timers run on; non-zero while a step is being absorbed (1% of real time)',
    registers: [this.registry],
  });
  readonly adapterMessagesReceived = new Counter({
    name: 'focusroom_adapter_messages_received_total',
    help: 'Messages the cluster adapter took from Redis (sharded pub/sub: one per message on a subscribed room channel; streams: one per stream entry read), this instance\'s own included',
    registers: [this.registry],
  });
  readonly deliveryRepairs = new Counter({
    name: 'focusroom_delivery_repairs_total',
    help: 'Cluster delivery: rooms whose local sockets were sent missed events from the room history (cause: gap = a newer event came first, check = the periodic check found this instance behind the store, resubscribe = after the adapter resubscribed) or closed as lost (cause: lost)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly deliveryDuplicates = new Counter({
    name: 'focusroom_delivery_duplicates_dropped_total',
    help: 'Cluster delivery: room events not written to a socket because it already had that seq',
    registers: [this.registry],
  });
  readonly rooms: Gauge;

  constructor(countRooms: () => Promise<Record<RoomStatus, number>>) {
    this.rooms = new Gauge({
      name: 'focusroom_rooms',
      help: 'Live rooms by status (cluster-wide in cluster mode)',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await countRooms();
          for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
        } catch {
          // Store unreachable: keep the last values rather than failing the whole scrape.
        }
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'focusroom_' });
    // prom-client names three gauges `*_total`, which Prometheus reserves for counters
    // (`promtool check metrics` refuses them). Their per-type twins stay:
    // sum(focusroom_nodejs_active_handles) is the same number.
    for (const name of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`focusroom_nodejs_active_${name}_total`);
  }
}
