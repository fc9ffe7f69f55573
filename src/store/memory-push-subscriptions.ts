/**
 * Push subscriptions in this process's memory (single-instance mode): lost on restart,
 * and refreshed by the web page, which posts its subscription again on every visit
 * (docs/push.md "Where subscriptions live").
 */
import type { AddResult, PushSubscriptionRecord, PushSubscriptions } from './push-subscriptions.js';
import { subscriptionIdOf } from './push-subscriptions.js';

/** Claims kept at most (oldest forgotten first): memory stays bounded under any load. */
const MAX_CLAIMS = 200_000;

export class MemoryPushSubscriptions implements PushSubscriptions {
  readonly kind = 'memory' as const;
  private readonly byIdentity = new Map<string, Map<string, PushSubscriptionRecord>>();
  /** key → when the claim lapses; insertion order is expiry order enough to trim from the front. */
  private readonly claims = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async add(identity: string, sub: Omit<PushSubscriptionRecord, 'id'>, max: number): Promise<AddResult> {
    const id = subscriptionIdOf(sub.endpoint);
    const subs = this.byIdentity.get(identity) ?? new Map<string, PushSubscriptionRecord>();
    const existing = subs.get(id);
    if (!existing && subs.size >= max) return { tooMany: true };
    subs.set(id, { ...sub, id, created_at: existing?.created_at ?? sub.created_at });
    this.byIdentity.set(identity, subs);
    return { id };
  }

  async list(identity: string): Promise<PushSubscriptionRecord[]> {
    return [...(this.byIdentity.get(identity)?.values() ?? [])];
  }

  async remove(identity: string, id: string): Promise<boolean> {
    const subs = this.byIdentity.get(identity);
    const removed = subs?.delete(id) ?? false;
    if (subs && subs.size === 0) this.byIdentity.delete(identity);
    return removed;
  }

  async listMany(identities: string[]): Promise<Map<string, PushSubscriptionRecord[]>> {
    const out = new Map<string, PushSubscriptionRecord[]>();
    for (const identity of identities) out.set(identity, await this.list(identity));
    return out;
  }

  async claim(keys: string[], ttlMs: number): Promise<boolean[]> {
    const now = this.now();
    for (const [k, until] of this.claims) {
      if (until > now && this.claims.size <= MAX_CLAIMS) break;
      this.claims.delete(k);
    }
    return keys.map((k) => {
      const until = this.claims.get(k);
      if (until !== undefined && until > now) return false;
      this.claims.delete(k);
      this.claims.set(k, now + ttlMs);
      return true;
    });
  }
}
