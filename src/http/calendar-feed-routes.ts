/**
 * The subscribable calendar: POST /me/calendar-feed → `{ url }`, a secret
 * URL (the same one until revoked with DELETE), and GET /calendar/<token>.ics, the
 * identity's booked sessions from 7 days back to 60 ahead as text/calendar (ical-generator):
 * stable UIDs, rising SEQUENCE, STATUS:CANCELLED for cancelled occurrences.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import ical, { ICalEventStatus } from 'ical-generator';
import timezones from '@touch4it/ical-timezones';
import { toFloating } from '../domain/recurrence.js';
import { nanoid } from 'nanoid';
import { z } from 'zod';
import type { Config } from '../config.js';
import { AppError } from '../contract/errors.js';
import { errorBodySchema } from '../contract/http-schemas.js';
import { userAuthHeadersSchema } from '../contract/schedule-http-schemas.js';
import { feedEvents } from '../domain/calendar-feed.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { RoomService } from '../rooms/room-service.js';
import type { BookingIndex } from '../store/booking-index.js';
import type { CalendarFeedStore } from '../store/calendar-feed-store.js';
import type { SeriesStore } from '../store/series-store.js';
import { toAppError } from '../store/store-errors.js';
import type { CallerResolver } from '../auth/caller.js';
import { requestCaller } from '../auth/rest-auth.js';
import { joinUrl } from './schedule-routes.js';

export interface CalendarFeedRouteDeps {
  feeds: CalendarFeedStore;
  bookingIndex: BookingIndex;
  seriesStore: SeriesStore;
  rooms: RoomService;
  clock: Clock;
  config: Config;
  limits: RateLimits;
  callers: CallerResolver;
}

const tags = ['me'];
const security = [{ identity: [] }];
const feedSchema = z.object({ url: z.string().meta({ description: 'secret: anyone with it reads your calendar; revoke with DELETE' }) }).meta({ id: 'CalendarFeed' });
const fileParams = z.strictObject({
  file: z.string({ error: 'not a calendar feed' }).regex(/^[A-Za-z0-9_-]{32}\.ics$/, { error: 'not a calendar feed' }),
});

const unavailable = (err: unknown): never => {
  throw toAppError(err);
};

const { getVtimezoneComponent } = timezones;
const known = new Map<string, boolean>();
/** A zone the VTIMEZONE data has (UTC, or a zone newer than it: the event is written in UTC). */
function hasVtimezone(tz: string): boolean {
  let has = known.get(tz);
  if (has === undefined) {
    has = !/^(Etc\/)?(UTC|GMT|Zulu|UCT|Universal)$/.test(tz) && getVtimezoneComponent(tz) !== null;
    if (known.size > 1_000) known.clear();
    known.set(tz, has);
  }
  return has;
}

/** `instant` as the zone's wall-clock time, "YYYY-MM-DDTHH:mm:ss" (ical-generator writes it with the TZID). */
const wallClock = (instant: number, tz: string): string => new Date(toFloating(instant, tz)).toISOString().slice(0, 19);

export function calendarFeedRoutes(app: FastifyInstance, deps: CalendarFeedRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const base = (req: { protocol: string; host: string }) => deps.config.publicUrl ?? `${req.protocol}://${req.host}`;

  api.post(
    '/me/calendar-feed',
    {
      schema: {
        summary: 'Your calendar feed URL',
        description: 'A secret URL serving every booked session of yours from 7 days back to 60 ahead as text/calendar, for a calendar program to subscribe to. The same URL until revoked.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        response: { 201: feedSchema, 400: errorBodySchema, 401: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req, reply) => {
      const { identity } = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      const token = await deps.feeds.ensure(identity, nanoid(32)).catch(unavailable);
      return reply.code(201).send({ url: `${base(req)}/calendar/${token}.ics` });
    },
  );

  api.delete(
    '/me/calendar-feed',
    {
      schema: {
        summary: 'Revoke your calendar feed URL',
        description: 'The URL stops working at once (404); a later POST makes a new one.',
        tags,
        security,
        headers: userAuthHeadersSchema,
        response: { 204: z.null().meta({ description: 'Revoked' }), 401: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req, reply) => {
      const { identity } = await requestCaller(deps.callers, req, 'jwt-or-user-key');
      if (!(await deps.feeds.revoke(identity).catch(unavailable))) throw new AppError('not_found', 'you have no calendar feed');
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/calendar/:file',
    {
      schema: {
        summary: 'A calendar feed (text/calendar)',
        description: 'Every booked session of the feed’s owner from 7 days back to 60 ahead: stable UIDs, SEQUENCE raised on each change, cancelled occurrences as STATUS:CANCELLED. 404 for an unknown or revoked feed (counted like a wrong room code).',
        tags: ['calendar'],
        params: fileParams,
        response: { 200: z.string().meta({ description: 'text/calendar (RFC 5545)' }), 400: errorBodySchema, 404: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req, reply) => {
      await deps.limits.checkJoin(req.ip);
      const identity = await deps.feeds.identityOf(req.params.file.slice(0, -4)).catch(unavailable);
      if (!identity) {
        await deps.limits.joinFailed(req.ip);
        throw new AppError('not_found', 'no such calendar feed');
      }
      const now = deps.clock.now();
      const entries = await deps.bookingIndex.list(identity, now).catch(unavailable);
      const rooms = (await Promise.all(entries.map((e) => deps.rooms.get(e.room))).catch(unavailable)).filter(
        (r): r is Room => r !== null && r.participants.some((p) => p.identity === identity),
      );
      const series = await deps.seriesStore.seriesOf(identity).catch(unavailable);
      const cal = ical({ prodId: { company: 'focusroom', product: 'focusroom', language: 'EN' }, name: 'focusroom' });
      // One VTIMEZONE per zone the series events use (tzdata from @touch4it/ical-timezones).
      cal.timezone({ name: null, generator: getVtimezoneComponent });
      for (const e of feedEvents(rooms, series, now)) {
        const url = e.room_code ? joinUrl(base(req), e.room_code) : null;
        cal.createEvent({
          id: e.uid,
          sequence: e.sequence,
          stamp: new Date(e.stamp),
          ...(e.tz && hasVtimezone(e.tz) ? { timezone: e.tz, start: wallClock(e.start, e.tz), end: wallClock(e.end, e.tz) } : { start: new Date(e.start), end: new Date(e.end) }),
          summary: e.summary,
          status: e.cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
          ...(url ? { url, description: `Room code: ${e.room_code}\nJoin at the scheduled time: ${url}` } : {}),
        });
      }
      return reply.type('text/calendar; charset=utf-8').header('cache-control', 'no-store').send(cal.toString());
    },
  );
}
