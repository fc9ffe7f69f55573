/**
 * Recurring series over REST: POST /series, GET /series/:id, POST
 * /series/:id/members, DELETE /series/:id/occurrences/:starts_at, DELETE /series/:id.
 * The caller is an identity (a JWT `sub` with auth on, a `user_key` without); the work is
 * rooms/series-service.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { errorBodySchema } from '../contract/http-schemas.js';
import { userAuthHeadersSchema } from '../contract/schedule-http-schemas.js';
import { createSeriesBodySchema, occurrenceParamsSchema, seriesCreatedSchema, seriesIdParamsSchema, seriesMemberBodySchema, seriesSchema } from '../contract/series-http-schemas.js';
import { LIMITS } from '../contract/limits.js';
import type { Clock } from '../domain/clock.js';
import { expandSeries } from '../domain/recurrence.js';
import { checkStartsAt } from '../domain/schedule.js';
import type { Series } from '../domain/series.js';
import { isValidTimeZone } from '../domain/stats.js';
import { nanoid } from 'nanoid';
import type { SeriesService } from '../rooms/series-service.js';
import type { CallerResolver } from '../auth/caller.js';
import { requestCaller } from '../auth/rest-auth.js';

export interface SeriesRouteDeps {
  series: SeriesService;
  clock: Clock;
  callers: CallerResolver;
  maxParticipants: number;
}

const tags = ['series'];
const security = [{ identity: [] }];
const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema };

export function seriesRoutes(app: FastifyInstance, deps: SeriesRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/series',
    {
      schema: {
        summary: 'Create a recurring series',
        description:
          'Occurrences from an RRULE in `tz` (wall-clock time kept across DST). Those in the next 14 days are created at once as scheduled rooms with their own codes, later ones as the horizon moves; the caller is booked into each (one atomic conflict check: `409 time_slot_taken` names the first clashing starts_at) and hosts them.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        body: createSeriesBodySchema,
        response: { 201: seriesCreatedSchema, ...errors },
      },
    },
    async (req, reply) => {
      const caller = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      const body = req.body;
      const now = deps.clock.now();
      checkStartsAt(body.starts_at, now);
      if (!isValidTimeZone(body.tz)) throw new AppError('invalid_payload', 'tz must be an IANA time zone such as Europe/Berlin');
      const draft: Series = {
        id: nanoid(16),
        owner: caller.identity,
        title: body.title,
        starts_at: body.starts_at,
        rrule: body.rrule,
        tz: body.tz,
        settings: {
          session_duration: body.session_duration ?? LIMITS.sessionDurationDefault,
          rounds: body.rounds ?? 1,
          break_duration: body.break_duration ?? LIMITS.breakDurationDefault,
          max_participants: body.max_participants ?? deps.maxParticipants,
        },
        members: [{ identity: caller.identity, user_name: body.user_name ?? caller.name ?? 'Host' }],
        occurrences: {},
        cancelled: [],
        ended_at: null,
        created_at: now,
      };
      // Bad rules are refused before anything is booked.
      expandSeries(draft);
      const created = await deps.series.create(draft);
      return reply.code(201).send({ series_id: created.id, occurrences: deps.series.views(created) });
    },
  );

  api.get(
    '/series/:id',
    {
      schema: { summary: 'A series and its occurrences', tags, security, headers: userAuthHeadersSchema, params: seriesIdParamsSchema, response: { 200: seriesSchema, ...errors } },
    },
    async (req) => {
      const { identity } = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      const s = await deps.series.get(req.params.id);
      return {
        series_id: s.id,
        title: s.title,
        rrule: s.rrule,
        tz: s.tz,
        starts_at: s.starts_at,
        ...s.settings,
        is_owner: s.owner === identity,
        is_member: s.members.some((m) => m.identity === identity),
        members: s.members.length,
        cancelled: s.ended_at !== null,
        occurrences: deps.series.views(s),
      };
    },
  );

  api.post(
    '/series/:id/members',
    {
      schema: {
        summary: 'Book yourself into every occurrence',
        description:
          'Books the caller into every occurrence that exists as a room (conflicts checked over all of them in one atomic step: `409 time_slot_taken` names the first clashing starts_at) and into later ones as they are created. Enter an occurrence with `join_session { room_code }` carrying the same identity: it takes the booked seat.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        params: seriesIdParamsSchema,
        body: seriesMemberBodySchema,
        response: { 200: seriesCreatedSchema, ...errors },
      },
    },
    async (req) => {
      const caller = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      const s = await deps.series.addMember(req.params.id, { identity: caller.identity, user_name: req.body.user_name ?? caller.name ?? 'Guest' });
      return { series_id: s.id, occurrences: deps.series.views(s) };
    },
  );

  api.delete(
    '/series/:id/occurrences/:starts_at',
    {
      schema: {
        summary: 'Cancel one occurrence (owner)',
        description: 'Its room closes with `room_closed { reason: "cancelled" }`.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        params: occurrenceParamsSchema,
        response: { 204: z.null().meta({ description: 'Cancelled' }), 403: errorBodySchema, ...errors },
      },
    },
    async (req, reply) => {
      const { identity } = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      await deps.series.cancelOccurrence(req.params.id, identity, req.params.starts_at);
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/series/:id',
    {
      schema: {
        summary: 'Cancel the rest of the series (owner)',
        description: 'Every upcoming occurrence’s room closes with `room_closed { reason: "cancelled" }`; none is created later.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        params: seriesIdParamsSchema,
        response: { 204: z.null().meta({ description: 'Cancelled' }), 403: errorBodySchema, ...errors },
      },
    },
    async (req, reply) => {
      const { identity } = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      await deps.series.cancelSeries(req.params.id, identity);
      return reply.code(204).send(null);
    },
  );
}
