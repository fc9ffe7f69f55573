/** Calendar feeds in this process's memory: single-instance mode. */
import { hashToken } from '../domain/tokens.js';
import type { CalendarFeedStore } from './calendar-feed-store.js';

export class MemoryCalendarFeedStore implements CalendarFeedStore {
  private readonly byIdentity = new Map<string, string>();
  private readonly byHash = new Map<string, string>();

  async ensure(identity: string, fresh: string): Promise<string> {
    const existing = this.byIdentity.get(identity);
    if (existing) return existing;
    this.byIdentity.set(identity, fresh);
    this.byHash.set(hashToken(fresh), identity);
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
    return true;
  }
}
