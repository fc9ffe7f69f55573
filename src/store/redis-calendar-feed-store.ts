/**
 * Calendar feeds in Redis (cluster mode): `{prefix}{id:<identity>}:calfeed` → token (set
 * with NX, so two instances asking at once agree on one), `{prefix}calfeed:<sha256>` →
 * identity for the feed URL's lookup. Two keys, two slots on Redis Cluster: the lookup key
 * is written after the identity's, and a revoke deletes the lookup key first.
 */
import { hashToken } from '../domain/tokens.js';
import type { CalendarFeedStore } from './calendar-feed-store.js';
import { redisCall } from '../redis/redis-call.js';
import type { RedisClient } from '../redis/redis-keys.js';

export class RedisCalendarFeedStore implements CalendarFeedStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'fr:',
  ) {}

  private identityKey(identity: string): string {
    return `${this.prefix}{id:${identity}}:calfeed`;
  }

  private lookupKey(token: string): string {
    return `${this.prefix}calfeed:${hashToken(token)}`;
  }

  async ensure(identity: string, fresh: string): Promise<string> {
    await redisCall(this.redis.set(this.identityKey(identity), fresh, 'NX'));
    const token = (await redisCall(this.redis.get(this.identityKey(identity)))) ?? fresh;
    await redisCall(this.redis.set(this.lookupKey(token), identity));
    return token;
  }

  async identityOf(token: string): Promise<string | null> {
    return redisCall(this.redis.get(this.lookupKey(token)));
  }

  async revoke(identity: string): Promise<boolean> {
    const token = await redisCall(this.redis.get(this.identityKey(identity)));
    if (!token) return false;
    await redisCall(this.redis.del(this.lookupKey(token)));
    await redisCall(this.redis.del(this.identityKey(identity)));
    return true;
  }
}
