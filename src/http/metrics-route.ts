import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

/** GET /metrics — Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
