import type { ErrorCode } from '../contract/errors.js';

/**
 * What a rejected SDK call carries: the wire error `code` (src/contract/errors.ts), or one
 * of the client's own: `timeout` (no answer in time), `disconnected` (no connection to
 * send on, within the timeout), `closed` (the client was closed).
 */
export type ClientErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'closed';

export class FocusroomError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FocusroomError';
  }
}
