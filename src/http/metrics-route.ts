import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../metrics.js';

/** GET /metrics — Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format: connections, rooms by status, events in/out, errors by code, tick lateness, store latency.',
        tags: ['service'],
        produces: ['text/plain'],
        response: { 200: z.string().meta({ description: 'Prometheus text format' }) },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
