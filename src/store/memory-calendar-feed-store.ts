/** Calendar feeds in this process's memory: single-instance mode, kept by the embedded store's journal. */
import { hashToken } from '../domain/tokens.js';
import type { CalendarFeedStore } from './calendar-feed-store.js';

export class MemoryCalendarFeedStore implements CalendarFeedStore {
  private readonly byIdentity = new Map<string, string>();
  private readonly byHash = new Map<string, string>();
  private observer: ((identity: string, token: string | null) => void) | null = null;

  observeChanges(observer: ((identity: string, token: string | null) => void) | null): void {
    this.observer = observer;
  }

  restore(kept: { identity: string; token: string }[]): void {
    for (const { identity, token } of kept) {
      if (this.byIdentity.has(identity)) continue;
      this.byIdentity.set(identity, token);
      this.byHash.set(hashToken(token), identity);
    }
  }

  async ensure(identity: string, fresh: string): Promise<string> {
    const existing = this.byIdentity.get(identity);
    if (existing) return existing;
    this.byIdentity.set(identity, fresh);
    this.byHash.set(hashToken(fresh), identity);
    this.observer?.(identity, fresh);
    return fresh;
  }

  async identityOf(token: string): Promise<string | null> {
    return this.byHash.get(hashToken(token)) ?? null;
  }

  async revoke(identity: string): Promise<boolean> {
    const token = this.byIdentity.get(identity);
    if (!token) return false;
    this.byIdentity.delete(identity);
    this.byHash.delete(hashToken(token));
    this.observer?.(identity, null);
    return true;
  }
}
