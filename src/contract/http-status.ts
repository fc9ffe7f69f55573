/**
 * The HTTP status of each wire error code, for every REST route: one table, so the same
 * failure gets the same status everywhere (a new error code must be given one here).
 */
import type { ErrorCode } from './errors.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_payload: 400,
  not_found: 404,
  room_full: 409,
  already_started: 409,
  not_host: 403,
  invalid_state: 409,
  // REST has no "session of this connection": a seat that is gone is a token that no longer works.
  not_in_session: 401,
  invalid_token: 401,
  rate_limited: 429,
  unauthorized: 401,
  unavailable: 503,
  internal: 500,
  time_slot_taken: 409,
};
