/**
 * GET /health for load balancers: 200 when this instance should get traffic, 503 while
 * draining or when the store (Redis) is unreachable. A database outage shows as
 * `database: down` but keeps 200: results wait in the outbox and rooms run on.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { healthSchema } from '../contract/http-schemas.js';
import type { RoomStore } from '../store/room-store.js';

export interface HealthDeps {
  store: RoomStore;
  instanceId: string;
  startedAt: number;
  isDraining: () => boolean;
  connections: () => number;
  /** The store of record: its outage does not make this instance unhealthy (rooms still work). */
  database: () => 'ok' | 'down' | 'disabled';
  /** Why the store of record is down when an operator must act (DATA_DIR not writable, disk full). */
  databaseError?: () => string | null;
  /** Whether Web Push is configured (VAPID keys set). */
  push: 'enabled' | 'disabled';
  /** The results writer: `stalled` when rounds wait and none has been written for a while. */
  writer: () => Promise<'ok' | 'stalled' | 'disabled'>;
}

export function healthRoute(app: FastifyInstance, deps: HealthDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/health',
    {
      schema: {
        summary: 'Load-balancer health check',
        description: '200 while this instance should get traffic; 503 while draining or when the store (Redis) is unreachable. A database outage, or one Redis Cluster master down (redis: degraded), keeps 200.',
        tags: ['service'],
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (_req, reply) => {
    let redis: 'ok' | 'degraded' | 'down' | 'disabled' = 'disabled';
    let sessions: number | null = null;
    try {
      if (deps.store.kind === 'redis') redis = await deps.store.ping();
      sessions = await deps.store.countRooms();
    } catch {
      // Pinged but could not count: part of the store does not answer (a Redis Cluster
      // slot whose master just died, before ioredis notices); unknown count, the rest works.
      redis = redis === 'ok' || redis === 'degraded' ? 'degraded' : 'down';
    }
    const draining = deps.isDraining();
    const databaseError = deps.databaseError?.() ?? null;
    const healthy = !draining && redis !== 'down';
    reply.header('cache-control', 'no-store');
    return reply.code(healthy ? 200 : 503).send({
      status: draining ? ('draining' as const) : healthy ? ('ok' as const) : ('unavailable' as const),
      instance: deps.instanceId,
      uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
      sessions,
      connections: deps.connections(),
      redis,
      database: deps.database(),
      ...(databaseError ? { database_error: databaseError } : {}),
      push: deps.push,
      writer: await deps.writer().catch(() => 'stalled' as const),
    });
    },
  );
}
