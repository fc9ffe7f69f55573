/** Entering and leaving rooms: create, join, resume, leave. */
import type { SessionJoinedPayload, SessionResumedPayload } from '../../contract/events.js';
import { AppError } from '../../contract/errors.js';
import { LIMITS } from '../../contract/limits.js';
import type { CreateSessionInput, JoinSessionInput, ResumeSessionInput } from '../../contract/schemas.js';
import { createRoom, join, leave, reconnect } from '../../domain/membership.js';
import { findParticipant, type Room } from '../../domain/room-state.js';
import { snapshot } from '../../domain/snapshot.js';
import type { HandlerContext } from '../handler-context.js';
import { attach, detach, requireNoSeat, requireSeat } from '../seat.js';
import { hashToken, newParticipantId, newResumeToken, newSessionId, tokenMatches } from '../tokens.js';

/** Codes are random over 887M; a few retries make a collision among live rooms irrelevant. */
const CODE_ATTEMPTS = 8;

function displayName(ctx: HandlerContext, requested: string | undefined): string {
  const name = requested ?? ctx.socket.data.userName;
  if (!name) throw new AppError('invalid_payload', 'user_name is required');
  return name;
}

function joinedPayload(ctx: HandlerContext, room: Room, participantId: string, token: string): SessionJoinedPayload {
  return {
    success: true,
    session_id: room.id,
    room_code: room.code,
    session: snapshot(room, ctx.clock.now(), participantId),
    participant_id: participantId,
    resume_token: token,
  };
}

export async function createSession(ctx: HandlerContext, input: CreateSessionInput): Promise<SessionJoinedPayload> {
  // A missing name is a malformed payload, and validation comes before any state check.
  const userName = displayName(ctx, input.user_name);
  await requireNoSeat(ctx);
  await ctx.limits.create(ctx.socket.data.ip);
  const participantId = newParticipantId();
  const token = newResumeToken();
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const room = createRoom(
      {
        id: newSessionId(),
        code: ctx.generateRoomCode(),
        host: { id: participantId, user_name: userName, token_hash: hashToken(token), socket_id: ctx.socket.id, user_sub: ctx.socket.data.userSub },
        settings: {
          session_duration: input.session_duration ?? LIMITS.sessionDurationDefault,
          max_participants: input.max_participants ?? ctx.config.maxParticipants,
          late_join: input.late_join ?? true,
          rounds: input.rounds ?? 1,
          break_duration: input.break_duration ?? LIMITS.breakDurationDefault,
        },
        grace_ms: ctx.config.disconnectGraceMs,
        ttl_ms: ctx.config.roomTtlMs,
      },
      ctx.clock.now(),
    );
    if (await ctx.rooms.create(room)) {
      attach(ctx, room, participantId);
      return joinedPayload(ctx, room, participantId, token);
    }
  }
  throw new AppError('internal', 'could not allocate a room code; try again');
}

export async function joinSession(ctx: HandlerContext, input: JoinSessionInput): Promise<SessionJoinedPayload> {
  const userName = displayName(ctx, input.user_name);
  await requireNoSeat(ctx);
  const ip = ctx.socket.data.ip;
  await ctx.limits.checkJoin(ip);
  const participantId = newParticipantId();
  const token = newResumeToken();
  const newcomer = { id: participantId, user_name: userName, token_hash: hashToken(token), socket_id: ctx.socket.id, user_sub: ctx.socket.data.userSub };
  const outcome = await ctx.rooms
    .apply(input.room_code, (room) => join(room, newcomer, ctx.clock.now()))
    .catch(async (err: unknown) => {
      if (err instanceof AppError && err.code === 'not_found') await ctx.limits.joinFailed(ip);
      throw err;
    });
  attach(ctx, outcome.room!, participantId);
  return joinedPayload(ctx, outcome.room!, participantId, token);
}

export async function resumeSession(ctx: HandlerContext, input: ResumeSessionInput): Promise<SessionResumedPayload> {
  const { socket } = ctx;
  // Resuming the seat this socket already holds is allowed (idempotent); any other seat is not.
  if (socket.data.roomCode && (socket.data.roomCode !== input.room_code || socket.data.participantId !== input.participant_id)) {
    await requireNoSeat(ctx);
  }
  const ip = socket.data.ip;
  await ctx.limits.checkJoin(ip);
  const outcome = await ctx.rooms
    .apply(input.room_code, (room) => {
      const p = findParticipant(room, input.participant_id);
      // One answer for "no such participant" and "wrong token": nothing to learn by probing.
      if (!p || !tokenMatches(input.resume_token, p.token_hash)) {
        throw new AppError('invalid_token', 'unknown participant or wrong resume token');
      }
      return reconnect(room, input.participant_id, socket.id, ctx.clock.now());
    })
    .catch(async (err: unknown) => {
      if (err instanceof AppError && (err.code === 'not_found' || err.code === 'invalid_token')) await ctx.limits.joinFailed(ip);
      throw err;
    });
  const room = outcome.room!;
  // The seat's previous socket (half-open, or on a dead instance) is cut loose, cluster-wide.
  if (outcome.result.replacedSocket) ctx.io.in(outcome.result.replacedSocket).disconnectSockets(true);
  attach(ctx, room, input.participant_id);
  const lastSeq = input.last_seq;
  const oldest = room.log[0]?.seq ?? room.seq + 1;
  return {
    ...joinedPayload(ctx, room, input.participant_id, input.resume_token),
    resumed: true,
    missed: lastSeq === undefined ? [] : room.log.filter((e) => e.seq > lastSeq),
    missed_complete: lastSeq !== undefined && (lastSeq >= room.seq || oldest <= lastSeq + 1),
  };
}

export async function leaveSession(ctx: HandlerContext): Promise<object> {
  const seat = requireSeat(ctx.socket);
  try {
    await ctx.rooms.apply(seat.code, (room) => leave(room, seat.participantId, 'left', ctx.clock.now()), { exceptSocket: ctx.socket.id });
  } catch (err) {
    // The room or seat is already gone (expired, timed out): leaving still succeeds.
    if (!(err instanceof AppError && (err.code === 'not_found' || err.code === 'not_in_session'))) throw err;
  }
  detach(ctx.socket);
  return {};
}
