/**
 * The caller's own durable record (§8): GET /me/stats, GET /me/history, DELETE /me.
 * The caller is the Bearer: a JWT with auth on (its `sub`), the `user_key` without.
 * Only that identity's rows are ever read or erased; nobody else's history is reachable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { userKeySchema } from '../contract/schemas.js';
import type { Clock } from '../domain/clock.js';
import { type Identity, identityFromSub, identityFromUserKey } from '../domain/identity.js';
import { computeStats, isValidTimeZone } from '../domain/stats.js';
import type { Persistence } from '../persistence/persistence.js';
import type { ResultsRepository } from '../persistence/results-repository.js';

export interface MeRoutesDeps {
  persistence: Persistence | null;
  clock: Clock;
  /** The JWT verifier when auth is on (then only JWTs are accepted), null without auth. */
  verifyToken: ((token: string) => Promise<JWTPayload>) | null;
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

const digits = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a whole number` })
    .regex(/^\d{1,16}$/, { error: `${field} must be a whole number` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { error: `${field} must be between 1 and ${max}` });

const statsQuery = z.strictObject({
  tz: z
    .string({ error: 'tz must be a string' })
    .refine(isValidTimeZone, { error: 'tz must be an IANA time zone such as Europe/Berlin' })
    .optional(),
});
const historyQuery = z.strictObject({
  before: digits('before', Number.MAX_SAFE_INTEGER).optional(),
  limit: digits('limit', 100).optional(),
});

export function meRoutes(app: FastifyInstance, deps: MeRoutesDeps): void {
  /** The caller's identity, or a 401 already sent. */
  async function caller(req: FastifyRequest, reply: FastifyReply): Promise<Identity | null> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (m) {
      const credential = m[1]!;
      if (deps.verifyToken) {
        try {
          const payload = await deps.verifyToken(credential);
          const identity = identityFromSub(payload.sub ? String(payload.sub).slice(0, 128) : null);
          if (identity) return identity;
        } catch {
          // fall through to 401
        }
      } else if (userKeySchema.safeParse(credential).success) {
        return identityFromUserKey(credential);
      }
    }
    await reply.code(401).send(errorBody('unauthorized', deps.verifyToken ? 'a valid Bearer JWT is required' : 'a Bearer user_key is required'));
    return null;
  }

  /** The repository, or a 503 already sent (no store of record, or it is not reachable yet). */
  async function repository(reply: FastifyReply): Promise<ResultsRepository | null> {
    const repo = deps.persistence?.repository() ?? null;
    if (repo) return repo;
    await reply
      .code(503)
      .send(errorBody('unavailable', deps.persistence ? 'the database is temporarily unavailable' : 'this server keeps no results (no store of record)'));
    return null;
  }

  const badRequest = (reply: FastifyReply, error: z.ZodError) => reply.code(400).send(errorBody('invalid_payload', error.issues[0]?.message ?? 'invalid query'));

  /** A database error on a read: 503, never a stack trace. */
  const unavailable = (reply: FastifyReply, req: FastifyRequest, err: unknown) => {
    req.log.warn({ err: err instanceof Error ? err.message : err }, 'store of record query failed');
    return reply.code(503).send(errorBody('unavailable', 'the database is temporarily unavailable'));
  };

  app.get('/me/stats', async (req, reply) => {
    const query = statsQuery.safeParse(req.query);
    if (!query.success) return badRequest(reply, query.error);
    const identity = await caller(req, reply);
    if (!identity) return reply;
    const repo = await repository(reply);
    if (!repo) return reply;
    try {
      const rows = await repo.resultsOf(identity);
      reply.header('cache-control', 'no-store');
      return computeStats(rows, query.data.tz ?? 'UTC', deps.clock.now());
    } catch (err) {
      return unavailable(reply, req, err);
    }
  });

  app.get('/me/history', async (req, reply) => {
    const query = historyQuery.safeParse(req.query);
    if (!query.success) return badRequest(reply, query.error);
    const identity = await caller(req, reply);
    if (!identity) return reply;
    const repo = await repository(reply);
    if (!repo) return reply;
    const limit = query.data.limit ?? 20;
    try {
      const rounds = await repo.historyOf(identity, query.data.before ?? Number.MAX_SAFE_INTEGER, limit);
      reply.header('cache-control', 'no-store');
      // The next page ends before the oldest round of this one.
      return { rounds, next_before: rounds.length === limit ? rounds.at(-1)!.ended_at : null };
    } catch (err) {
      return unavailable(reply, req, err);
    }
  });

  app.delete('/me', async (req, reply) => {
    const identity = await caller(req, reply);
    if (!identity) return reply;
    const repo = await repository(reply);
    if (!repo) return reply;
    try {
      return { deleted_results: await repo.erase(identity) };
    } catch (err) {
      return unavailable(reply, req, err);
    }
  });
}
