/**
 * Push subscriptions in Redis (cluster mode): one hash per identity,
 * `{prefix}{id:<identity>}:push` (subscription id → JSON), beside that identity's
 * bookings in one hash slot; the limit is checked and the entry written in one script.
 * A "sent" claim is `{prefix}pushsent:<notice>:<subscription>` (SET NX PX), so two
 * instances that both hold a redelivered notice send it once.
 */
import type { RedisClient } from '../redis/redis-keys.js';
import { redisCall } from '../redis/redis-call.js';
import type { AddResult, PushSubscriptionRecord, PushSubscriptions } from './push-subscriptions.js';
import { subscriptionIdOf } from './push-subscriptions.js';

/** KEYS[1] the hash; ARGV id, json, max → 1 stored, 0 too many. A known id is refreshed, keeping its created_at. */
const ADD = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
local v = ARGV[2]
if old then
  local o = cjson.decode(old)
  local n = cjson.decode(v)
  n.created_at = o.created_at
  v = cjson.encode(n)
end
redis.call('HSET', KEYS[1], ARGV[1], v)
return 1
`;

interface ScriptedRedis {
  focusroomPushAdd(key: string, id: string, json: string, max: number): Promise<number>;
}

export class RedisPushSubscriptions implements PushSubscriptions {
  readonly kind = 'redis' as const;
  private readonly scripts: ScriptedRedis;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'fr:',
  ) {
    redis.defineCommand('focusroomPushAdd', { numberOfKeys: 1, lua: ADD });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  private key(identity: string): string {
    return `${this.prefix}{id:${identity}}:push`;
  }

  async add(identity: string, sub: Omit<PushSubscriptionRecord, 'id'>, max: number): Promise<AddResult> {
    const id = subscriptionIdOf(sub.endpoint);
    const stored = await redisCall(this.scripts.focusroomPushAdd(this.key(identity), id, JSON.stringify({ ...sub, id }), max));
    return stored === 1 ? { id } : { tooMany: true };
  }

  async list(identity: string): Promise<PushSubscriptionRecord[]> {
    const all = await redisCall(this.redis.hgetall(this.key(identity)));
    return Object.values(all).map((v) => JSON.parse(v) as PushSubscriptionRecord);
  }

  async remove(identity: string, id: string): Promise<boolean> {
    return (await redisCall(this.redis.hdel(this.key(identity), id))) > 0;
  }

  async listMany(identities: string[]): Promise<Map<string, PushSubscriptionRecord[]>> {
    // One command per identity, sent together (each key may live on another cluster node).
    const lists = await Promise.all(identities.map((i) => this.list(i)));
    return new Map(identities.map((identity, i) => [identity, lists[i]!]));
  }

  async claim(keys: string[], ttlMs: number): Promise<boolean[]> {
    const px = Math.max(1, Math.ceil(ttlMs));
    const replies = await Promise.all(keys.map((k) => redisCall(this.redis.set(`${this.prefix}pushsent:${k}`, '1', 'PX', px, 'NX'))));
    return replies.map((r) => r === 'OK');
  }
}
