/**
 * GET /asyncapi.json — the AsyncAPI 3 document of the Socket.IO protocol, built from
 * src/contract (contract/asyncapi.ts) on the first request and kept: building it (every
 * zod schema to JSON Schema) is tens of ms of CPU the start does not spend. Not an API
 * route, so not in OpenAPI.
 */
import type { FastifyInstance } from 'fastify';
import { buildAsyncApi } from '../contract/asyncapi.js';

export function asyncApiRoute(app: FastifyInstance, version: string): void {
  let doc: ReturnType<typeof buildAsyncApi> | null = null;
  app.get('/asyncapi.json', { schema: { hide: true } }, async (req) => {
    doc ??= buildAsyncApi({ version });
    return {
      ...doc,
      // The host the caller reached us on, so tools connect to this server.
      servers: { focusroom: { ...(doc.servers as { focusroom: object }).focusroom, host: req.headers.host ?? 'localhost:3000' } },
    };
  });
}
