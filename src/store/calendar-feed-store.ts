/**
 * Secret calendar-feed URLs: one per identity, revocable. The token is the
 * URL's secret; lookups go by its sha256, and the identity's own entry keeps the token so
 * asking again returns the same URL (a subscribed calendar keeps working). Memory in
 * single-instance mode, Redis in cluster mode.
 */
export interface CalendarFeedStore {
  /** The identity's token, creating `fresh` when it has none; returns the one in place. */
  ensure(identity: string, fresh: string): Promise<string>;
  /** The identity a token belongs to, or null (unknown or revoked). */
  identityOf(token: string): Promise<string | null>;
  /** Revokes the identity's token; true when there was one. */
  revoke(identity: string): Promise<boolean>;
  /** Single instance only (memory): told of every change (null = revoked), for the embedded store. */
  observeChanges?(observer: ((identity: string, token: string | null) => void) | null): void;
  /** Single instance only: puts back the feeds the last run kept. */
  restore?(kept: { identity: string; token: string }[]): void;
}
