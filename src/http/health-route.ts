/**
 * GET /health for load balancers: 200 when this instance should get traffic, 503 while
 * draining or when the store (Redis) is unreachable.
 */
import type { FastifyInstance } from 'fastify';
import type { RoomStore } from '../store/room-store.js';

export interface HealthDeps {
  store: RoomStore;
  instanceId: string;
  startedAt: number;
  isDraining: () => boolean;
  connections: () => number;
}

export function healthRoute(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/health', async (_req, reply) => {
    let redis: 'ok' | 'down' | 'disabled' = 'disabled';
    let sessions: number | null = null;
    try {
      if (deps.store.kind === 'redis') {
        await deps.store.ping();
        redis = 'ok';
      }
      sessions = await deps.store.countRooms();
    } catch {
      redis = 'down';
    }
    const draining = deps.isDraining();
    const healthy = !draining && redis !== 'down';
    reply.header('cache-control', 'no-store');
    return reply.code(healthy ? 200 : 503).send({
      status: draining ? 'draining' : healthy ? 'ok' : 'unavailable',
      instance: deps.instanceId,
      uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
      sessions,
      connections: deps.connections(),
      redis,
    });
  });
}
