/**
 * Store errors and what the wire says of them.
 *
 * `StoreUnavailable`: the store's backing service cannot answer right now (Redis down,
 * frozen or failing over); the caller answers `unavailable` and the client may retry.
 * Anything else a store throws is a bug (`internal`) or a domain refusal (AppError).
 * Deliberately not an AppError: code that tells "the room said no" from "the store did
 * not answer" (cluster presence retrying a disconnect later) relies on the difference.
 */
import { AppError } from '../contract/errors.js';

export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The wire error for anything a store-backed operation threw (a socket handler or a REST
 * route): refusals as they are, an unreachable store `unavailable`, the rest `internal`
 * with a fixed message, so no stack, path or cause reaches a client.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof StoreUnavailable) return new AppError('unavailable', 'the service is temporarily unavailable; try again');
  return new AppError('internal', 'internal error');
}
