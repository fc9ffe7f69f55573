/** Entering and leaving rooms: create, join, resume, leave. */
import type { SessionJoinedPayload, SessionResumedPayload } from '../../contract/events.js';
import { AppError } from '../../contract/errors.js';
import { LIMITS } from '../../contract/limits.js';
import type { CreateSessionInput, JoinSessionInput, ResumeSessionInput } from '../../contract/schemas.js';
import { leave, reconnect } from '../../domain/membership.js';
import { findParticipant, type Room } from '../../domain/room-state.js';
import { checkStartsAt } from '../../domain/schedule.js';
import type { HandlerContext } from '../handler-context.js';
import { createRoomFor, joinedView, joinRoomAs } from '../../rooms/room-entry.js';
import { attach, detach, requireNoSeat, requireSeat } from '../seat.js';
import { tokenMatches } from '../../domain/tokens.js';
import { addressKey } from '../../limits/client-address.js';
import { resolveIdentity } from '../../domain/identity.js';

function displayName(ctx: HandlerContext, requested: string | undefined): string {
  const name = requested ?? ctx.socket.data.userName;
  if (!name) throw new AppError('invalid_payload', 'user_name is required');
  return name;
}

/** With `issuedKey`: a user_key issued to this anonymous client now (docs/persistence.md), sent back once. */
const joinedPayload = (ctx: HandlerContext, room: Room, participantId: string, token: string, issuedKey: string | null = null): SessionJoinedPayload => ({
  ...joinedView(room, participantId, token, ctx.clock.now()),
  ...(issuedKey ? { user_key: issuedKey } : {}),
});

export async function createSession(ctx: HandlerContext, input: CreateSessionInput): Promise<SessionJoinedPayload> {
  // A missing name or a wrong time is a malformed payload; validation comes before any state check.
  const userName = displayName(ctx, input.user_name);
  if (input.starts_at !== undefined) checkStartsAt(input.starts_at, ctx.clock.now());
  await requireNoSeat(ctx);
  await ctx.limits.create(ctx.socket.data.ip);
  const { identity, issuedKey } = resolveIdentity(ctx.socket.data.identity, input.user_key, ctx.userKeys);
  const { room, token } = await createRoomFor(ctx, input, {
    user_name: userName,
    socket_id: ctx.socket.id,
    user_sub: ctx.socket.data.userSub,
    identity,
  }, addressKey(ctx.socket.data.ip));
  attach(ctx, room, room.host_id);
  return joinedPayload(ctx, room, room.host_id, token, issuedKey);
}

export async function joinSession(ctx: HandlerContext, input: JoinSessionInput): Promise<SessionJoinedPayload> {
  const userName = displayName(ctx, input.user_name);
  await requireNoSeat(ctx);
  const ip = ctx.socket.data.ip;
  await ctx.limits.checkJoin(ip);
  const { identity, issuedKey } = resolveIdentity(ctx.socket.data.identity, input.user_key, ctx.userKeys);
  const { room, participantId, token, replacedSocket } = await joinRoomAs(ctx, input.room_code, {
    user_name: userName,
    socket_id: ctx.socket.id,
    user_sub: ctx.socket.data.userSub,
    identity,
  }).catch(async (err: unknown) => {
    if (err instanceof AppError && err.code === 'not_found') await ctx.limits.joinFailed(ip);
    throw err;
  });
  // The identity's seat was live on another socket: that one is cut loose, cluster-wide, as on resume.
  if (replacedSocket) ctx.io.in(replacedSocket).disconnectSockets(true);
  attach(ctx, room, participantId);
  return joinedPayload(ctx, room, participantId, token, issuedKey);
}

export async function resumeSession(ctx: HandlerContext, input: ResumeSessionInput): Promise<SessionResumedPayload> {
  const { socket } = ctx;
  // Resuming the seat this socket already holds is allowed (idempotent); any other seat is not.
  if (socket.data.roomCode && (socket.data.roomCode !== input.room_code || socket.data.participantId !== input.participant_id)) {
    await requireNoSeat(ctx);
  }
  const ip = socket.data.ip;
  // The token is checked first and the failed-join limit only when it fails: a correct
  // resume is never refused because others at the same address (a NAT, a campus) failed.
  // Guessing a 192-bit token gains nothing from that order; guessing codes is
  // still capped, since a failure over the address's budget is `rate_limited` for live
  // and dead rooms alike.
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
      if (err instanceof AppError && (err.code === 'not_found' || err.code === 'invalid_token')) {
        if (await ctx.limits.resumeRefused(ip, input.room_code)) throw new AppError('rate_limited', 'too many failed join attempts; try again in a minute');
        if (err.code === 'not_found') await ctx.limits.joinFailed(ip);
        else await ctx.limits.tokenFailed(ip, input.room_code);
      }
      throw err;
    });
  const room = outcome.room!;
  // The seat's previous socket (half-open, or on a dead instance) is cut loose, cluster-wide.
  if (outcome.result.replacedSocket) ctx.io.in(outcome.result.replacedSocket).disconnectSockets(true);
  attach(ctx, room, input.participant_id);
  return {
    ...joinedPayload(ctx, room, input.participant_id, input.resume_token),
    resumed: true,
    ...(await missedSince(ctx, room, input.last_seq)),
  };
}

/**
 * The room events after `lastSeq` up to the snapshot's seq, from the room's history (the
 * log GET /sessions/:code/events reads), or nothing with `missed_complete: false` when
 * some were already trimmed: never a partial replay. A history read that fails does not
 * fail the resume (the seat is back); the client then relies on the snapshot.
 */
async function missedSince(ctx: HandlerContext, room: Room, lastSeq: number | undefined): Promise<Pick<SessionResumedPayload, 'missed' | 'missed_complete'>> {
  if (lastSeq === undefined) return { missed: [], missed_complete: false };
  if (lastSeq >= room.seq) return { missed: [], missed_complete: true };
  const history = await ctx.rooms.history(room.code, lastSeq, LIMITS.roomHistorySize).catch(() => null);
  if (!history?.complete) return { missed: [], missed_complete: false };
  const missed = history.events.filter((e) => e.seq <= room.seq).map(({ seq, event, data }) => ({ seq, event, data }));
  return { missed, missed_complete: true };
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
