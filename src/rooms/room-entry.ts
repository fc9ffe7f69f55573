/**
 * Taking a seat in a new or existing room, shared by the socket events (create_session,
 * join_session) and their REST twins (POST /sessions, POST /sessions/:code/seats): the
 * same rate-limited, validated domain change, the same conflict check (bookings.ts).
 */
import type { SessionJoinedPayload } from '../contract/events.js';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import { LIMITS } from '../contract/limits.js';
import type { CreateSessionInput } from '../contract/schemas.js';
import { createRoom, heldSeat, join, type NewParticipant, takeSeat } from '../domain/membership.js';
import type { Outcome } from '../domain/draft.js';
import type { Room } from '../domain/room-state.js';
import { plannedLength, windowOf } from '../domain/schedule.js';
import { snapshot } from '../domain/snapshot.js';
import type { Config } from '../config.js';
import type { Clock } from '../domain/clock.js';
import type { Bookings } from './bookings.js';
import type { RoomService } from './room-service.js';
import { hashToken, newParticipantId, newResumeToken, newSessionId } from '../domain/tokens.js';

/** Codes are random over 887M; a few retries make a collision among live rooms irrelevant. */
const CODE_ATTEMPTS = 8;

/** The `session_created` / `session_joined` payload, as `participantId` sees the room. */
export const joinedView = (room: Room, participantId: string, token: string, now: number): SessionJoinedPayload => ({
  success: true,
  session_id: room.id,
  room_code: room.code,
  session: snapshot(room, now, participantId),
  participant_id: participantId,
  resume_token: token,
});

export type SeatOwner = Pick<NewParticipant, 'user_name' | 'socket_id' | 'user_sub' | 'identity' | 'connected'>;
/** What taking a seat needs (a socket handler's context and the REST routes both hold it). */
export interface RoomsContext {
  rooms: RoomService;
  clock: Clock;
  config: Config;
  bookings: Bookings;
  generateRoomCode: () => string;
}

/**
 * A new room with `owner` as host, shared by the socket event and POST /sessions. With an
 * identity, the host's window is booked first (conflict detection), under the code
 * about to be used; a code that turns out taken releases it and tries the next. `address`
 * (the creator's address key) and the identity count the room against their caps.
 */
export async function createRoomFor(ctx: RoomsContext, input: CreateSessionInput, owner: SeatOwner, address: string): Promise<{ room: Room; token: string }> {
  const participantId = newParticipantId();
  const token = newResumeToken();
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const room = createRoom(
      {
        id: newSessionId(),
        code: ctx.generateRoomCode(),
        host: { id: participantId, token_hash: hashToken(token), ...owner },
        starts_at: input.starts_at ?? null,
        title: input.title ?? null,
        settings: {
          session_duration: input.session_duration ?? LIMITS.sessionDurationDefault,
          max_participants: input.max_participants ?? ctx.config.maxParticipants,
          late_join: input.late_join ?? true,
          rounds: input.rounds ?? 1,
          break_duration: input.break_duration ?? LIMITS.breakDurationDefault,
        },
        grace_ms: ctx.config.disconnectGraceMs,
        ttl_ms: ctx.config.roomTtlMs,
        no_show_grace_ms: ctx.config.noShowGraceMs,
        remind_lead_ms: ctx.config.push?.reminderLeadMs ?? 0,
      },
      ctx.clock.now(),
    );
    const identity = owner.identity ?? null;
    if (identity) await ctx.bookings.claim(identity, room.code, windowOf(room, ctx.clock.now())!);
    let created = false;
    try {
      created = await ctx.rooms.create(room, { address, identity });
    } finally {
      if (!created && identity) await ctx.bookings.release(identity, room.code).catch(() => {});
    }
    if (created) return { room, token };
  }
  throw new AppError('internal', 'could not allocate a room code; try again');
}

/** A failed join gives back its booking, unless the identity holds another seat in that room. */
async function releaseUnlessSeated(ctx: RoomsContext, identity: string, code: string): Promise<void> {
  try {
    const room = await ctx.rooms.get(code);
    if (room?.participants.some((p) => p.identity === identity)) return;
    await ctx.bookings.release(identity, code);
  } catch {
    // Left behind, the entry is stale and reconciled when it gets in the way (bookings.ts).
  }
}

/** The window a join books must still be the room's when the seat is taken. */
const windowKey = (room: Room): string =>
  `${room.status}:${room.starts_at ?? ''}:${room.started_at ?? ''}:${plannedLength(room.settings)}`;

class WindowMoved extends Error {}

/**
 * A new seat in an existing room, shared by join_session and POST /sessions/:code/seats.
 * With an identity the room's window is booked first; if the room's window moved before
 * the seat was taken (a reschedule in between), the booking is redone.
 */
export async function joinRoomAs(ctx: RoomsContext, code: string, owner: SeatOwner): Promise<{ room: Room; participantId: string; token: string; replacedSocket: string | null }> {
  const participantId = newParticipantId();
  const token = newResumeToken();
  const newcomer: NewParticipant = { id: participantId, token_hash: hashToken(token), ...owner };
  const identity = owner.identity ?? null;
  for (let attempt = 0; ; attempt++) {
    let seen: string | null = null;
    if (identity) {
      const current = await ctx.rooms.get(code);
      if (!current) throw new RoomNotFoundError(code);
      const window = windowOf(current, ctx.clock.now());
      // A room that has ended takes no booking; join() answers for it below.
      if (window) {
        await ctx.bookings.claim(identity, code, window);
        seen = windowKey(current);
      }
    }
    try {
      const outcome = await ctx.rooms.apply(code, (room): Outcome<{ participantId: string; replacedSocket: string | null }> => {
        if (seen !== null && windowKey(room) !== seen && attempt < 3) throw new WindowMoved();
        // One seat per identity per room: an identity that holds one here (a series member's
        // booking, another tab or device) takes it over as resume does; a REST join only
        // gets a new token for it.
        const held = heldSeat(room, identity);
        if (held) return takeSeat(room, held.id, owner.connected !== false ? owner.socket_id : null, newcomer.token_hash, ctx.clock.now());
        return { ...join(room, newcomer, ctx.clock.now()), result: { participantId, replacedSocket: null } };
      });
      return { room: outcome.room!, participantId: outcome.result.participantId, token, replacedSocket: outcome.result.replacedSocket };
    } catch (err) {
      if (seen !== null) await releaseUnlessSeated(ctx, identity!, code);
      if (err instanceof WindowMoved) continue;
      throw err;
    }
  }
}

