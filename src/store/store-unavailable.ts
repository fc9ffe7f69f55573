/**
 * The store's backing service cannot answer right now (Redis down, frozen or failing
 * over): the caller answers `unavailable` and the client may retry. Anything else a store
 * throws is a bug (`internal`) or a domain refusal (AppError). Deliberately not an
 * AppError: code that tells "the room said no" from "the store did not answer" (cluster
 * presence retrying a disconnect later) relies on the difference.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
