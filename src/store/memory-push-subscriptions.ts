/**
 * Push subscriptions in this process's memory (single-instance mode). With an embedded
 * store (DATA_DIR) every change is told to its journal (persistence/embedded-journal.ts),
 * written within ~0.1 s and put back at the next start (`restore`), so subscriptions
 * survive a restart; without one they last as long as the process (docs/push.md "Where
 * subscriptions live").
 */
import type { AddResult, ClaimState, PushSubscriptionRecord, PushSubscriptions } from './push-subscriptions.js';
import { subscriptionIdOf } from './push-subscriptions.js';

/** Leases and done marks kept at most (oldest forgotten first): memory stays bounded under any load. */
const MAX_CLAIMS = 200_000;

/** Where a durable copy of the subscriptions is kept (told synchronously; it writes in the background). */
export interface PushSubscriptionJournal {
  /** `record` null: removed. */
  subscriptionChanged(identity: string, id: string, record: PushSubscriptionRecord | null): void;
}

export class MemoryPushSubscriptions implements PushSubscriptions {
  readonly kind = 'memory' as const;
  private readonly byIdentity = new Map<string, Map<string, PushSubscriptionRecord>>();
  /** key → owner (or 'done') and when it lapses; insertion order is expiry order enough to trim from the front. */
  private readonly claims = new Map<string, { owner: string; until: number }>();
  private journal: PushSubscriptionJournal | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** From now on, every subscription added or removed is told to `journal` (and those held now, added before it opened). */
  setJournal(journal: PushSubscriptionJournal | null): void {
    this.journal = journal;
    if (journal) for (const [identity, subs] of this.byIdentity) for (const [id, record] of subs) journal.subscriptionChanged(identity, id, record);
  }

  /** Puts back subscriptions kept from an earlier run (one added since, for the same id, wins). */
  restore(kept: { identity: string; record: PushSubscriptionRecord }[]): void {
    for (const { identity, record } of kept) {
      const subs = this.byIdentity.get(identity) ?? new Map<string, PushSubscriptionRecord>();
      if (!subs.has(record.id)) subs.set(record.id, record);
      this.byIdentity.set(identity, subs);
    }
  }

  async add(identity: string, sub: Omit<PushSubscriptionRecord, 'id'>, max: number): Promise<AddResult> {
    const id = subscriptionIdOf(sub.endpoint);
    const subs = this.byIdentity.get(identity) ?? new Map<string, PushSubscriptionRecord>();
    const existing = subs.get(id);
    if (!existing && subs.size >= max) return { tooMany: true };
    const record = { ...sub, id, created_at: existing?.created_at ?? sub.created_at };
    subs.set(id, record);
    this.byIdentity.set(identity, subs);
    this.journal?.subscriptionChanged(identity, id, record);
    return { id };
  }

  async list(identity: string): Promise<PushSubscriptionRecord[]> {
    return [...(this.byIdentity.get(identity)?.values() ?? [])];
  }

  async remove(identity: string, id: string): Promise<boolean> {
    const subs = this.byIdentity.get(identity);
    const removed = subs?.delete(id) ?? false;
    if (subs && subs.size === 0) this.byIdentity.delete(identity);
    if (removed) this.journal?.subscriptionChanged(identity, id, null);
    return removed;
  }

  async listMany(identities: string[]): Promise<Map<string, PushSubscriptionRecord[]>> {
    const out = new Map<string, PushSubscriptionRecord[]>();
    for (const identity of identities) out.set(identity, [...(this.byIdentity.get(identity)?.values() ?? [])]);
    return out;
  }

  async claim(keys: string[], owner: string, leaseMs: number): Promise<ClaimState[]> {
    const now = this.now();
    for (const [k, c] of this.claims) {
      if (c.until > now && this.claims.size <= MAX_CLAIMS) break;
      this.claims.delete(k);
    }
    return keys.map((k) => {
      const c = this.claims.get(k);
      if (c && c.until > now) {
        if (c.owner === DONE) return 'done';
        if (c.owner !== owner) return 'held';
      }
      this.claims.delete(k);
      this.claims.set(k, { owner, until: now + leaseMs });
      return 'mine';
    });
  }

  async renew(keys: string[], owner: string, leaseMs: number): Promise<void> {
    const now = this.now();
    for (const k of keys) {
      const c = this.claims.get(k);
      if (c?.owner === owner) c.until = now + leaseMs;
    }
  }

  async release(keys: string[], owner: string): Promise<void> {
    for (const k of keys) if (this.claims.get(k)?.owner === owner) this.claims.delete(k);
  }

  async finish(keys: string[], ttlMs: number): Promise<void> {
    const until = this.now() + ttlMs;
    for (const k of keys) {
      this.claims.delete(k);
      this.claims.set(k, { owner: DONE, until });
    }
  }
}

const DONE = '\0done';
