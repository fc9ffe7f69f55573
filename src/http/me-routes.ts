/**
 * The caller's own record: GET /me/sessions (booked and running rooms, docs/protocol.md
 * "Scheduled sessions"), GET /me/stats, GET /me/history, DELETE /me (docs/persistence.md).
 * The caller is the Bearer (auth/caller.ts mode `jwt-or-user-key`): a JWT with auth on
 * (its `sub`), the `user_key` without. Only that identity's rooms and rows are ever read
 * or erased; nobody else's history is reachable. /me/push-subscriptions (push-routes.ts)
 * and /me/calendar-feed (calendar-feed-routes.ts) take their caller the same way.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { identityAuthHeadersSchema, identityErrorResponses, meErasedSchema, meHistorySchema, meStatsSchema } from '../contract/http-schemas.js';
import type { Clock } from '../domain/clock.js';
import { focusWindowStart, isValidTimeZone, statsFromAggregate } from '../domain/stats.js';
import type { Persistence } from '../persistence/persistence.js';
import type { ResultsRepository } from '../persistence/results-repository.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { ME_ERASE_COST, ME_SESSIONS_COST, ME_STATS_COST, meHistoryCost } from '../limits/read-cost.js';
import { errorBodySchema } from '../contract/http-schemas.js';
import { meSessionsQuerySchema, meSessionsSchema, type MySession, userAuthHeadersSchema } from '../contract/schedule-http-schemas.js';
import { windowOf } from '../domain/schedule.js';
import type { RoomService } from '../rooms/room-service.js';
import type { BookingIndex } from '../store/booking-index.js';
import type { CallerResolver } from '../auth/caller.js';
import { type FloodBudget, meCaller } from '../auth/rest-auth.js';

export interface MeRoutesDeps {
  persistence: Persistence | null;
  clock: Clock;
  /** Who calls (mode `jwt-or-user-key`). */
  callers: CallerResolver;
  /** GET /me/sessions: the identity's bookings, and their rooms (whose own seats decide). */
  bookingIndex: BookingIndex;
  rooms: RoomService;
  /** Per address and per identity budgets of /me/* (cost points a minute). */
  limits: RateLimits;
  /** The flood budget (address, instance, shed under overload), charged the same cost. */
  budget?: FloodBudget;
}

export const ME_HISTORY_PAGE_DEFAULT = 20;
/** Attendance counts the identity's last this-many booked sessions. */
const ATTENDANCE_SESSIONS = 20;
const ME_HISTORY_PAGE_MAX = 100;

const digits = (field: string, min: number, max: number) =>
  z
    .string({ error: `${field} must be given once, as a whole number` })
    .regex(/^\d{1,16}$/, { error: `${field} must be a whole number` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: `${field} must be between ${min} and ${max}` });

const statsQuery = z.strictObject({
  tz: z
    .string({ error: 'tz must be given once' })
    .refine(isValidTimeZone, { error: 'tz must be an IANA time zone such as Europe/Berlin' })
    .optional()
    .meta({ description: 'IANA time zone the days and streaks are counted in (default UTC).' }),
});
const historyQuery = z.strictObject({
  before: digits('before', 1, Number.MAX_SAFE_INTEGER).optional().meta({ description: 'Only rounds that ended before this (epoch ms); `next_before` of the previous page.' }),
  limit: digits('limit', 1, ME_HISTORY_PAGE_MAX).optional().meta({ description: `At most this many rounds (1–${ME_HISTORY_PAGE_MAX}, default ${ME_HISTORY_PAGE_DEFAULT}).` }),
});

export function meRoutes(app: FastifyInstance, deps: MeRoutesDeps): void {
  /** The caller's identity, or `unauthorized`, charged `cost` (auth/rest-auth.ts). */
  const caller = meCaller(deps);

  /** The repository, or `unavailable` (no store of record, or not reachable yet). */
  function repository(): ResultsRepository {
    const repo = deps.persistence?.repository() ?? null;
    if (repo) return repo;
    throw new AppError('unavailable', deps.persistence ? 'the database is temporarily unavailable' : 'this server keeps no results (no store of record)');
  }

  /** A database error on a query: 503, never a stack trace. */
  async function query<T>(req: FastifyRequest, run: (repo: ResultsRepository) => Promise<T>): Promise<T> {
    const repo = repository();
    try {
      return await run(repo);
    } catch (err) {
      req.log.warn({ err: err instanceof Error ? err.message : err }, 'store of record query failed');
      throw new AppError('unavailable', 'the database is temporarily unavailable');
    }
  }

  const api = app.withTypeProvider<ZodTypeProvider>();
  const common = { tags: ['me'], security: [{ identity: [] }], headers: identityAuthHeadersSchema };

  api.get(
    '/me/sessions',
    {
      schema: {
        summary: "The caller's upcoming and running sessions",
        description: 'Rooms the identity holds a seat in whose window meets [from, to) (default: from now on), soonest first. Needs a Bearer JWT (auth on) or user_key (auth off).',
        tags: ['me'],
        security: [{ userToken: [] }],
        headers: userAuthHeadersSchema,
        querystring: meSessionsQuerySchema,
        response: { 200: meSessionsSchema, 400: errorBodySchema, 401: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req) => {
      const { identity } = await caller(req, ME_SESSIONS_COST);
      const now = deps.clock.now();
      const from = req.query.from ?? now;
      const to = req.query.to ?? Number.MAX_SAFE_INTEGER;
      const entries = await deps.bookingIndex.list(identity, now).catch(unavailable);
      const rooms = await Promise.all(entries.map((e) => deps.rooms.get(e.room))).catch(unavailable);
      const sessions: MySession[] = [];
      for (const room of rooms) {
        const window = room && windowOf(room, now);
        // The index may hold a stale entry (rooms/bookings.ts): the room's own seats decide.
        const mine = room?.participants.filter((p) => p.identity === identity) ?? [];
        if (!room || !window || mine.length === 0 || window.end <= from || window.start >= to) continue;
        sessions.push({ room_code: room.code, title: room.title ?? null, starts_at: window.start, planned_end: window.end, status: room.status, is_host: mine.some((p) => p.id === room.host_id) });
      }
      sessions.sort((a, b) => a.starts_at - b.starts_at || a.room_code.localeCompare(b.room_code));
      return { sessions };
    },
  );

  api.get(
    '/me/stats',
    {
      schema: {
        ...common,
        summary: 'Your stats and streaks',
        description: 'Totals of your stored results, your current and longest daily streak in `tz` (a day counts when it has a completed round), and your focus on each of the last 30 days.',
        querystring: statsQuery,
        response: { 200: meStatsSchema, ...identityErrorResponses },
      },
    },
    async (req, reply) => {
      const { identity } = await caller(req, ME_STATS_COST);
      const now = deps.clock.now();
      const [aggregate, attendance] = await query(req, (repo) => Promise.all([repo.statsOf(identity, focusWindowStart(now)), repo.attendanceOf(identity, ATTENDANCE_SESSIONS)]));
      reply.header('cache-control', 'no-store');
      return { ...statsFromAggregate(aggregate, req.query.tz ?? 'UTC', now), attendance };
    },
  );

  api.get(
    '/me/history',
    {
      schema: {
        ...common,
        summary: 'Your rounds, newest first',
        description: 'Each completed focus round you took part in, with your result. Page with `before` = the previous page’s `next_before`.',
        querystring: historyQuery,
        response: { 200: meHistorySchema, ...identityErrorResponses },
      },
    },
    async (req, reply) => {
      const limit = req.query.limit ?? ME_HISTORY_PAGE_DEFAULT;
      const { identity } = await caller(req, meHistoryCost(limit));
      const rounds = await query(req, (repo) => repo.historyOf(identity, req.query.before ?? Number.MAX_SAFE_INTEGER, limit));
      reply.header('cache-control', 'no-store');
      // The next page ends before the oldest round of this one.
      return { rounds, next_before: rounds.length === limit ? rounds.at(-1)!.ended_at : null };
    },
  );

  api.delete(
    '/me',
    {
      schema: {
        ...common,
        summary: 'Erase your results',
        description:
          'Deletes every stored result of your identity, its attendance, and the rounds (room code, title, times) no one else took part in (the right to leave); a round shared with others stays for them without your result. Rounds still waiting in the outbox are written after it.',
        response: { 200: meErasedSchema, ...identityErrorResponses },
      },
    },
    async (req) => {
      const { identity } = await caller(req, ME_ERASE_COST);
      return { deleted_results: await query(req, (repo) => repo.erase(identity)) };
    },
  );
}

/** A booking index or room store that cannot be read: 503. */
const unavailable = (): never => {
  throw new AppError('unavailable', 'the service is temporarily unavailable');
};
