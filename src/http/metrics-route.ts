import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../contract/http-schemas.js';
import type { Metrics } from '../metrics.js';
import { hashToken, tokenMatches } from '../domain/tokens.js';
import { bearerToken } from '../auth/caller.js';

/**
 * GET /metrics — Prometheus text format. With METRICS_TOKEN set it answers only
 * `Authorization: Bearer <token>` (401 otherwise); the check compares SHA-256 hashes in
 * constant time, so response timing tells nothing about how much of a guess was right.
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null = null): void {
  const tokenHash = token === null ? null : hashToken(token);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Prometheus text exposition format: connections, rooms by status, events in/out, errors by code, tick lateness, store latency. With METRICS_TOKEN set, only with `Authorization: Bearer <METRICS_TOKEN>`.',
        tags: ['service'],
        produces: ['text/plain'],
        response: { 200: z.string().meta({ description: 'Prometheus text format' }), 401: errorBodySchema },
      },
    },
    async (req, reply) => {
      if (tokenHash !== null) {
        const given = bearerToken(req.headers.authorization);
        if (given === null || !tokenMatches(given, tokenHash)) {
          reply.header('www-authenticate', 'Bearer realm="metrics"');
          return reply.code(401).send({ error: { code: 'unauthorized' as const, message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' } });
        }
      }
      reply.header('content-type', metrics.registry.contentType);
      reply.header('cache-control', 'no-store');
      return metrics.registry.metrics();
    },
  );
}
