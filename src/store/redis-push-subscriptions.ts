/**
 * Push subscriptions in Redis (cluster mode): one hash per identity,
 * `{prefix}{id:<identity>}:push` (subscription id → JSON), beside that identity's
 * bookings in one hash slot; the limit is checked and the entry written in one script.
 *
 * A delivery's lease is `{prefix}pushsent:<notice>:<subscription>`: the owner's name with
 * an expiry while it sends, then `done` until after the notice expires. One script
 * claims a whole batch of keys (standalone and Sentinel: one command per 500 keys, one
 * round trip); on Redis Cluster, where the keys live in many slots, the same script runs
 * once per key, pipelined.
 */
import { redisCall } from '../redis/redis-call.js';
import { isCluster, type RedisClient } from '../redis/redis-keys.js';
import { defineScripts } from '../redis/redis-scripts.js';
import type { AddResult, ClaimState, PushSubscriptionRecord, PushSubscriptions } from './push-subscriptions.js';
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

/** KEYS the leases; ARGV owner, lease ms → per key 0 mine (taken or already the owner's), 1 held by another, 2 done. */
const CLAIM = `
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == 'done' then out[i] = 2
  elseif v and v ~= ARGV[1] then out[i] = 1
  else redis.call('SET', k, ARGV[1], 'PX', ARGV[2]); out[i] = 0 end
end
return out
`;

/** KEYS the leases; ARGV owner, lease ms: extends those still the owner's. */
const RENEW = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) end
end
return 0
`;

/** KEYS the leases; ARGV owner: deletes those still the owner's. */
const RELEASE = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0
`;

/** KEYS the leases; ARGV ttl ms: each becomes done. */
const FINISH = `
for _, k in ipairs(KEYS) do redis.call('SET', k, 'done', 'PX', ARGV[1]) end
return 0
`;

interface ScriptedRedis {
  focusroomPushAdd(key: string, id: string, json: string, max: number): Promise<number>;
  focusroomPushClaim(n: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
  focusroomPushRenew(n: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  focusroomPushRelease(n: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  focusroomPushFinish(n: number, ...keysAndArgs: (string | number)[]): Promise<number>;
}

/** Keys per script call (standalone): a few hundred keeps one call well under a millisecond in Redis. */
const CHUNK = 500;
const STATES: ClaimState[] = ['mine', 'held', 'done'];

export class RedisPushSubscriptions implements PushSubscriptions {
  readonly kind = 'redis' as const;
  private readonly scripts: ScriptedRedis;
  /** Redis Cluster: one key per script call (the keys are in many slots). */
  private readonly chunk: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'fr:',
  ) {
    this.scripts = defineScripts<ScriptedRedis>(redis, {
      focusroomPushAdd: { keys: 1, lua: ADD },
      focusroomPushClaim: { lua: CLAIM },
      focusroomPushRenew: { lua: RENEW },
      focusroomPushRelease: { lua: RELEASE },
      focusroomPushFinish: { lua: FINISH },
    });
    this.chunk = isCluster(redis) ? 1 : CHUNK;
  }

  private key(identity: string): string {
    return `${this.prefix}{id:${identity}}:push`;
  }

  private leaseKey(key: string): string {
    return `${this.prefix}pushsent:${key}`;
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

  async claim(keys: string[], owner: string, leaseMs: number): Promise<ClaimState[]> {
    const px = Math.max(1, Math.ceil(leaseMs));
    const replies = await this.each(keys, (part) => this.scripts.focusroomPushClaim(part.length, ...part, owner, px));
    return replies.flat().map((r) => STATES[r] ?? 'held');
  }

  async renew(keys: string[], owner: string, leaseMs: number): Promise<void> {
    const px = Math.max(1, Math.ceil(leaseMs));
    await this.each(keys, (part) => this.scripts.focusroomPushRenew(part.length, ...part, owner, px));
  }

  async release(keys: string[], owner: string): Promise<void> {
    await this.each(keys, (part) => this.scripts.focusroomPushRelease(part.length, ...part, owner));
  }

  async finish(keys: string[], ttlMs: number): Promise<void> {
    const px = Math.max(1, Math.ceil(ttlMs));
    await this.each(keys, (part) => this.scripts.focusroomPushFinish(part.length, ...part, px));
  }

  /** `call` per chunk of lease keys, all sent at once (pipelined). */
  private each<R>(keys: string[], call: (part: string[]) => Promise<R>): Promise<R[]> {
    const calls: Promise<R>[] = [];
    for (let i = 0; i < keys.length; i += this.chunk) calls.push(redisCall(call(keys.slice(i, i + this.chunk).map((k) => this.leaseKey(k)))));
    return Promise.all(calls);
  }
}
