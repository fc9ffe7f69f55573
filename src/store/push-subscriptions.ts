/**
 * Web Push subscriptions per identity (docs/push.md): where every instance finds them
 * (Redis in cluster mode, this process's memory in single-instance mode), plus the
 * cluster-wide "sent" marks that make each notice go out once per subscription.
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
   * Claims each key (one notice to one subscription) for `ttlMs`: true where this caller
   * took it and so sends it, false where someone already had. One claim per key cluster-wide.
   */
  claim(keys: string[], ttlMs: number): Promise<boolean[]>;
}

/** One id per endpoint: a browser that subscribes again gets its id back, never a duplicate. */
export const subscriptionIdOf = (endpoint: string): string => createHash('sha256').update(endpoint).digest('base64url').slice(0, 22);
