/**
 * GET /asyncapi.json — the AsyncAPI 3 document of the Socket.IO protocol, built once from
 * src/contract (contract/asyncapi.ts) at start; not an API route, so not in OpenAPI.
 */
import type { FastifyInstance } from 'fastify';
import { buildAsyncApi } from '../contract/asyncapi.js';

export function asyncApiRoute(app: FastifyInstance, version: string): void {
  const doc = buildAsyncApi({ version });
  app.get('/asyncapi.json', { schema: { hide: true } }, async (req) => ({
    ...doc,
    // The host the caller reached us on, so tools connect to this server.
    servers: { focusroom: { ...(doc.servers as { focusroom: object }).focusroom, host: req.headers.host ?? 'localhost:3000' } },
  }));
}
