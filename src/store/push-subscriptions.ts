/**
 * Web Push subscriptions per identity (docs/push.md): where every instance finds them
 * (Redis in cluster mode; in single-instance mode this process's memory, kept in the
 * embedded store when there is one), plus the delivery leases and "done" marks that make
 * each notice go out to each subscription at least once and, short of a crash
 * mid-request, once.
 */
import { createHash } from 'node:crypto';

export interface PushSubscriptionRecord {
  id: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
  created_at: number;
}

export type AddResult = { id: string } | { tooMany: true };

export interface PushSubscriptions {
  readonly kind: 'memory' | 'redis';
  /** Adds a subscription, or refreshes the keys of the same endpoint (same id); `tooMany` at `max` others. */
  add(identity: string, sub: Omit<PushSubscriptionRecord, 'id'>, max: number): Promise<AddResult>;
  list(identity: string): Promise<PushSubscriptionRecord[]>;
  remove(identity: string, id: string): Promise<boolean>;
  /** The subscriptions of many identities at once (a notice's fan-out). */
  listMany(identities: string[]): Promise<Map<string, PushSubscriptionRecord[]>>;
  /**
   * Leases each key (one notice to one subscription) to `owner` for `leaseMs`: `mine` where
   * it was free or already `owner`'s (this caller sends it), `held` where another owner's
   * lease runs (try again once it lapses), `done` where it was finished.
   */
  claim(keys: string[], owner: string, leaseMs: number): Promise<ClaimState[]>;
  /** Extends `owner`'s leases on `keys` by `leaseMs` (a key leased to someone else is left alone). */
  renew(keys: string[], owner: string, leaseMs: number): Promise<void>;
  /**
   * Ends `owner`'s leases on `keys` now (a key done or leased to someone else is left
   * alone): a stopping instance hands what it did not send to whoever reads it next.
   */
  release(keys: string[], owner: string): Promise<void>;
  /** Marks `keys` done for `ttlMs` (past the notice's expiry): a redelivery skips them. */
  finish(keys: string[], ttlMs: number): Promise<void>;
}

export type ClaimState = 'mine' | 'held' | 'done';

/** One id per endpoint: a browser that subscribes again gets its id back, never a duplicate. */
export const subscriptionIdOf = (endpoint: string): string => createHash('sha256').update(endpoint).digest('base64url').slice(0, 22);
