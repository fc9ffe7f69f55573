/**
 * The REST layer around every route: zod schemas validate requests (strict, nothing
 * coerced: Fastify's own ajv would coerce "5" to 5), check and serialize responses, and
 * generate the OpenAPI 3.1 document at GET /openapi.json (browsable at GET /docs). One
 * error handler answers every failure as `{ error: { code, message } }`, and browser
 * origins are held to the socket's rule (CORS_ORIGINS, limits/origin-policy.ts).
 *
 * Register it before any route, so every route lands in the document.
 */
import { createRequire } from 'node:module';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
// The modules these two plugins load only when registered (the route collector with its
// $ref resolver and URI parser, the OpenAPI builder with its YAML library; Swagger UI's routes
// with their own @fastify/static and glob): loaded here, with every other module, before
// buildApp runs, rather than as 10–40 ms blocks of the start while the embedded store opens
// (docs/performance.md, the start's loop delay).
import '@fastify/swagger/lib/mode/dynamic.js';
import '@fastify/swagger/lib/spec/openapi/index.js';
import '@fastify/swagger-ui/lib/routes.js';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifySchemaCompiler } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Config } from '../config.js';
import { AppError } from '../contract/errors.js';
import { HTTP_STATUS } from '../contract/http-status.js';
import { LIMITS } from '../contract/limits.js';
import { describeIssue } from '../contract/schemas.js';
import { originAllowed } from '../limits/origin-policy.js';
import { nextTurn } from '../slices.js';
import { toAppError } from '../store/store-errors.js';

/**
 * Fastify's default schema compilers (ajv, fast-json-stringify), loaded only if something
 * asks for one. Every route here validates and serializes with zod (registerApi sets both
 * compilers first), so normally they are never loaded: loading them was the longest single
 * block of the start (~15 ms of module loading inside `Fastify()`). Resolved from fastify's
 * own location, exactly as fastify would load them.
 */
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
export const lazySchemaCompilers = {
  buildValidator: (...args: unknown[]) => (fastifyRequire('@fastify/ajv-compiler') as () => (...a: unknown[]) => unknown)()(...args),
  buildSerializer: (...args: unknown[]) => (fastifyRequire('@fastify/fast-json-stringify-compiler') as () => (...a: unknown[]) => unknown)()(...args),
};

/** Largest request body: a REST call carries what one socket event may carry. */
export const MAX_BODY_BYTES = LIMITS.maxFrameBytes;

/** Validation with the zod schemas themselves: the same parse as the socket events. */
const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const parsed = schema.safeParse(data);
    if (parsed.success) return { value: parsed.data };
    return { error: Object.assign(new AppError('invalid_payload', describeIssue(parsed.error)), { statusCode: 400 }) };
  };

export function sendError(reply: FastifyReply, error: AppError, status = HTTP_STATUS[error.code]): FastifyReply {
  // A 503 is temporary (a store of record still opening, a database away): say when to ask again.
  if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply.code(status).send({ error: error.toWire() });
}

/** Fastify's own failures (body parsing, size, media type) as wire errors. */
function fromFastifyError(err: FastifyError): { error: AppError; status: number } | null {
  const status = err.statusCode ?? 500;
  if (status === 413) return { error: new AppError('invalid_payload', `request body is larger than ${MAX_BODY_BYTES} bytes`), status };
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { error: new AppError('invalid_payload', 'body is not valid JSON'), status: 400 };
  }
  if (status === 415) return { error: new AppError('invalid_payload', 'send the body as application/json'), status };
  if (status >= 400 && status < 500) return { error: new AppError('invalid_payload', err.message.slice(0, 200)), status };
  return null;
}

export interface ApiOptions {
  config: Config;
  log: FastifyBaseLogger;
  /** The version the document carries (package.json's). */
  version: string;
}

export async function registerApi(app: FastifyInstance, { config, log, version }: ApiOptions): Promise<void> {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) return sendError(reply, err);
    const known = fromFastifyError(err);
    if (known) return sendError(reply, known.error, known.status);
    const error = toAppError(err);
    log.error({ err, method: req.method, url: req.url.slice(0, 200) }, 'request failed');
    return sendError(reply, error);
  });
  await nextTurn();
  app.setNotFoundHandler((req, reply) => sendError(reply, new AppError('not_found', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`)));

  // The socket's origin rule, server-side: CORS headers alone would still let a foreign
  // page's request run (only its answer is hidden from it).
  app.addHook('onRequest', async (req, reply) => {
    if (!originAllowed(req.headers.origin, req.headers.host, config.corsOrigins)) {
      return sendError(reply, new AppError('unauthorized', 'origin not allowed'), 403);
    }
  });
  await nextTurn();
  await app.register(fastifyCors, {
    origin: config.corsOrigins ?? true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
    // An OPTIONS without Access-Control-Request-Method gets the same 204, not a plain-text 400.
    strictPreflight: false,
  });

  await nextTurn();
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'focusroom REST API',
        version,
        description:
          'The REST twin of the Socket.IO protocol (see /asyncapi.json). A change made here is the same domain change as its socket event: same validation, same broadcast to the room, same `seq`.',
      },
      components: {
        securitySchemes: {
          seatToken: { type: 'http', scheme: 'bearer', description: "A seat's `resume_token` from `session_created` / `session_joined`." },
          userToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The same JWT as the socket handshake (`sub` = the identity); needed when auth is on, and always for /me routes.' },
          identity: { type: 'http', scheme: 'bearer', description: 'Who you are across rooms: the JWT with auth on, the `user_key` from a create/join reply without.' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await nextTurn();
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's own CSP (hashes of its inline script and style) on /docs only, set after
    // any page-wide header; without upgrade-insecure-requests, which breaks plain-HTTP hosts.
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
