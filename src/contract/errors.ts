/**
 * The one list of error codes a client can see. Stable: apps switch on them, so a
 * code is never renamed or reused; add new ones at the end.
 */
export const ERROR_CODES = [
  'invalid_payload',
  'not_found',
  'room_full',
  'already_started',
  'not_host',
  'invalid_state',
  'not_in_session',
  'invalid_token',
  'rate_limited',
  'unauthorized',
  'unavailable',
  'internal',
  /** The caller's identity already holds a seat in a room whose window overlaps (HTTP 409). */
  'time_slot_taken',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
}

/** An expected failure: becomes `{ ok: false, error }` on the wire, never a stack trace. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

/**
 * `not_found` for the room itself, as opposed to something inside it (a task): callers
 * that unseat a socket whose room has gone must not unseat it over a missing task.
 */
export class RoomNotFoundError extends AppError {
  constructor(roomCode: string) {
    super('not_found', `no session with code ${roomCode}`);
    this.name = 'RoomNotFoundError';
  }
}
