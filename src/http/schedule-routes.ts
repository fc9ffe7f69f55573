/**
 * The scheduling routes (docs/protocol.md "Scheduled sessions"): POST /sessions and POST /sessions/:code/seats
 * book seats without a socket (the seat starts disconnected, as a booking, and is taken
 * with resume_session), and GET /sessions/:code/calendar.ics exports a scheduled room as an iCalendar event. The
 * create and join are the socket events' own code (rooms/room-entry.ts): same
 * validation, same rate limits, same broadcast, same conflict check.
 */
import type { UserKeys } from '../domain/user-keys.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import ical from 'ical-generator';
import { z } from 'zod';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import { errorBodySchema, roomCodeParamsSchema } from '../contract/http-schemas.js';
import { createSessionBodySchema, seatBodySchema, userAuthHeadersSchema } from '../contract/schedule-http-schemas.js';
import { sessionJoinedSchema } from '../contract/server-schemas.js';
import type { Room } from '../domain/room-state.js';
import { checkStartsAt, plannedLength, startsAtOf, type Window, windowOf } from '../domain/schedule.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { createRoomFor, joinedView, joinRoomAs, type RoomsContext } from '../rooms/room-entry.js';
import { identityFromUserKey } from '../domain/identity.js';
import { addressKey } from '../limits/client-address.js';
import type { Caller, CallerResolver } from '../auth/caller.js';
import { requestCaller } from '../auth/rest-auth.js';

export interface ScheduleRouteDeps extends RoomsContext {
  limits: RateLimits;
  callers: CallerResolver;
  userKeys: UserKeys;
}

const callers = new WeakMap<FastifyRequest, Caller>();
const tags = ['sessions'];
const security = [{ userToken: [] }];
const writeErrors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema } as const;

function nameFor(caller: Caller, requested: string | undefined): string {
  const name = requested ?? caller.name;
  if (!name) throw new AppError('invalid_payload', 'user_name is required');
  return name;
}

/**
 * The seat's identity: the JWT's with auth on (a user_key is then ignored, as on the
 * socket), else the user_key's when one is sent (the same user as on the socket), else
 * none — REST issues no key: a client that wants one gets it from create_session/join_session.
 * A key this server did not issue (its HMAC tag fails, domain/user-keys.ts) is 401 `unauthorized`.
 */
function identityOf(caller: Caller, userKey: string | undefined, userKeys: UserKeys): string | null {
  if (caller.identity) return caller.identity;
  if (!userKey) return null;
  if (!userKeys.valid(userKey)) throw new AppError('unauthorized', 'user_key was not issued by this server');
  return identityFromUserKey(userKey);
}

const unavailable = (): never => {
  throw new AppError('unavailable', 'the service is temporarily unavailable');
};

export function scheduleRoutes(app: FastifyInstance, deps: ScheduleRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // Who is calling, before the body is validated: an unauthenticated caller learns nothing from a 400.
  const authenticate = async (req: FastifyRequest) => {
    callers.set(req, await requestCaller(deps.callers, req, 'jwt'));
  };

  api.post(
    '/sessions',
    {
      preValidation: authenticate,
      schema: {
        summary: 'Create a session (optionally scheduled)',
        description:
          'The REST twin of create_session: the caller becomes host; the seat starts disconnected, as a booking (take it with resume_session). Same validation and create rate limit as the socket event. With auth on, needs a Bearer JWT; a seat of the same identity at an overlapping time is 409 time_slot_taken.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        body: createSessionBodySchema,
        response: { 201: sessionJoinedSchema, ...writeErrors },
      },
    },
    async (req, reply) => {
      const caller = callers.get(req)!;
      const input = req.body;
      const userName = nameFor(caller, input.user_name);
      if (input.starts_at !== undefined) checkStartsAt(input.starts_at, deps.clock.now());
      await deps.limits.create(req.ip);
      const { room, token } = await createRoomFor(deps, input, { user_name: userName, socket_id: '', connected: false, user_sub: caller.sub, identity: identityOf(caller, input.user_key, deps.userKeys) }, addressKey(req.ip));
      return reply.code(201).send(joinedView(room, room.host_id, token, deps.clock.now()));
    },
  );

  api.post(
    '/sessions/:code/seats',
    {
      preValidation: authenticate,
      schema: {
        summary: 'Book a seat in a session',
        description:
          'The REST twin of join_session: a seat booked without a socket (disconnected; take it with resume_session); the room hears participant_joined. Unknown codes count toward the failed-join limit.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        params: roomCodeParamsSchema,
        body: seatBodySchema,
        response: { 201: sessionJoinedSchema, ...writeErrors },
      },
    },
    async (req, reply) => {
      const caller = callers.get(req)!;
      const userName = nameFor(caller, req.body.user_name);
      await deps.limits.checkJoin(req.ip);
      const seat = await joinRoomAs(deps, req.params.code, { user_name: userName, socket_id: '', connected: false, user_sub: caller.sub, identity: identityOf(caller, req.body.user_key, deps.userKeys) }).catch(
        async (err: unknown) => {
          if (err instanceof AppError && err.code === 'not_found') await deps.limits.joinFailed(req.ip);
          throw err;
        },
      );
      return reply.code(201).send(joinedView(seat.room, seat.participantId, seat.token, deps.clock.now()));
    },
  );

  api.get(
    '/sessions/:code/calendar.ics',
    {
      schema: {
        summary: 'A scheduled session as an iCalendar event',
        description:
          'text/calendar (RFC 5545): one VEVENT with a stable UID and `URL` = the join link (`PUBLIC_URL`, else this request\'s origin, + `/?code=`); a completed room is served as the past event it was, while the room is known. 404 for an unknown or unscheduled room. Unknown codes count toward the failed-join limit.',
        tags,
        params: roomCodeParamsSchema,
        response: { 200: z.string().meta({ description: 'text/calendar (RFC 5545)' }), 400: errorBodySchema, 404: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req, reply) => {
      const { code } = req.params;
      await deps.limits.checkJoin(req.ip);
      const room = await deps.rooms.get(code).catch(unavailable);
      if (!room) {
        await deps.limits.joinFailed(req.ip);
        throw new RoomNotFoundError(code);
      }
      const startsAt = startsAtOf(room);
      if (startsAt === null) throw new AppError('not_found', `session ${code} is not scheduled`);
      // The window as it stands (started_at once running); a completed room keeps the one it ran (a past event).
      const window = windowOf(room, deps.clock.now()) ?? pastWindow(room, startsAt);
      const base = deps.config.publicUrl ?? `${req.protocol}://${req.host}`;
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', `attachment; filename="focus-${room.code}.ics"`)
        .send(calendarFor(room, window, joinUrl(base, room.code)));
    },
  );
}

/** The web page's share link: it opens the join form with the code filled in. */
export const joinUrl = (base: string, code: string): string => `${base}/?code=${encodeURIComponent(code)}`;

/** A completed room: the run as it happened (started_at to completed_at), else its booked slot. */
function pastWindow(room: Room, startsAt: number): Window {
  const start = room.started_at ?? startsAt;
  return { start, end: room.completed_at ?? start + plannedLength(room.settings) };
}

/** One VEVENT. UID and DTSTAMP come from the room, so the same room always exports the same event. */
export function calendarFor(room: Room, window: Window, url: string): string {
  const cal = ical({ prodId: { company: 'focusroom', product: 'focusroom', language: 'EN' }, name: 'focusroom' });
  cal.createEvent({
    id: `${room.id}@focusroom`,
    stamp: new Date(room.created_at),
    start: new Date(window.start),
    end: new Date(window.end),
    summary: room.title ?? 'Focus session',
    description: `Room code: ${room.code}\nJoin at the scheduled time: ${url}`,
    url,
  });
  return cal.toString();
}
