/** Binding a socket to its seat in a room (Socket.IO rooms + socket.data). */
import { AppError } from '../contract/errors.js';
import { findParticipant, type Room } from '../domain/room-state.js';
import { roomTimer } from '../domain/snapshot.js';
import type { HandlerContext } from './handler-context.js';
import { quietKey, roomKey, seatKey, type TypedSocket } from './types.js';

export interface Seat {
  code: string;
  participantId: string;
}

export function attach(ctx: HandlerContext, room: Room, participantId: string): void {
  const { socket } = ctx;
  // socket.data first: listeners of the adapter's join-room event (cluster presence and
  // delivery) read it. A socket re-taking its seat keeps what it already has.
  socket.data.deliveredSeq = socket.data.roomCode === room.code ? Math.max(socket.data.deliveredSeq, room.seq) : room.seq;
  socket.data.roomCode = room.code;
  socket.data.participantId = participantId;
  const rooms = [roomKey(room.code), seatKey(room.code, participantId)];
  socket.join(socket.data.quiet ? [...rooms, quietKey(room.code)] : rooms);
  // A joiner on this instance may be the first local socket of a running room.
  ctx.ticker.sync(roomTimer(room));
}

export function detach(socket: TypedSocket): void {
  const { roomCode, participantId } = socket.data;
  if (roomCode) {
    socket.leave(roomKey(roomCode));
    if (participantId) socket.leave(seatKey(roomCode, participantId));
    if (socket.data.quiet) socket.leave(quietKey(roomCode));
  }
  socket.data.roomCode = null;
  socket.data.participantId = null;
}

/** The caller's seat, or `not_in_session`. */
export function requireSeat(socket: TypedSocket): Seat {
  const { roomCode, participantId } = socket.data;
  if (!roomCode || !participantId) throw new AppError('not_in_session', 'you are not in a session');
  return { code: roomCode, participantId };
}

/**
 * Creating or joining while seated is refused: a socket is in at most one room. A seat
 * whose room has since gone (expired, emptied, or closed by another instance) no longer
 * counts, or a client told `room_closed` could never start over on the same socket:
 * the socket is unseated and may go on.
 */
export async function requireNoSeat(ctx: HandlerContext): Promise<void> {
  const { socket } = ctx;
  const { roomCode, participantId } = socket.data;
  if (!roomCode) return;
  const room = await ctx.rooms.get(roomCode);
  if (room && participantId && findParticipant(room, participantId)) {
    throw new AppError('invalid_state', `already in session ${roomCode}; leave it first`);
  }
  detach(socket);
}
