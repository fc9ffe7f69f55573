/**
 * A handshake may carry the seat it is coming back to: `auth: { room_code, participant_id,
 * resume_token }` (besides a JWT's `token` when auth is on). A live seat with the right
 * token (checked in constant time, tokens.ts) lets the connection skip the address's
 * connection budget, so a whole instance's clients behind one address (a NAT, a campus)
 * can come back at once after it dies. It does not seat the socket: the
 * client still sends `resume_session`, which checks the token again.
 */
import { z } from 'zod';
import { roomCodeSchema } from '../contract/schemas.js';
import { findParticipant } from '../domain/room-state.js';
import type { RoomService } from '../rooms/room-service.js';
import { tokenMatches } from '../domain/tokens.js';

const id = z.string().min(1).max(64);
const seatAuthSchema = z.object({ room_code: roomCodeSchema, participant_id: id, resume_token: id });

export type SeatAuth = z.output<typeof seatAuthSchema>;

/** The seat in a handshake's `auth`, or null when there is none (or it is malformed: then it is an ordinary connection). */
export function seatFromAuth(auth: unknown): SeatAuth | null {
  const parsed = seatAuthSchema.safeParse(auth);
  return parsed.success ? parsed.data : null;
}

/**
 * True when the seat exists and the token is its own. A seat in its grace period counts
 * (that is the point). A store failure is "not verified": the connection is then charged
 * as usual rather than refused.
 */
export async function seatIsLive(rooms: RoomService, seat: SeatAuth): Promise<boolean> {
  const room = await rooms.get(seat.room_code).catch(() => null);
  const p = room ? findParticipant(room, seat.participant_id) : undefined;
  // Compared even when there is no such seat, so a miss costs the same time as a wrong token.
  const matches = tokenMatches(seat.resume_token, p?.token_hash ?? NO_SEAT_HASH);
  return p !== undefined && matches;
}

const NO_SEAT_HASH = '0'.repeat(64);
