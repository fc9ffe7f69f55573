/**
 * Series in Redis (cluster mode): one JSON string per series, `{prefix}{series:<id>}`,
 * changed by compare-and-set (a script that writes only if the value is still the one
 * read), and a set of ids, `{prefix}series:ids`, for the horizon sweep. Each script
 * touches one key, so it runs unchanged on Redis Cluster.
 */
import type { Series } from '../domain/series.js';
import { redisCall } from '../redis/redis-call.js';
import type { RedisClient } from '../redis/redis-keys.js';
import { defineScripts } from '../redis/redis-scripts.js';
import type { SeriesStore } from './series-store.js';

/** KEYS: series. ARGV: expected JSON, new JSON. 1 when written, 0 when it changed meanwhile. */
const CAS = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

interface ScriptedRedis {
  focusroomSeriesCas(key: string, expected: string, next: string): Promise<number>;
}

const ATTEMPTS = 20;

export class RedisSeriesStore implements SeriesStore {
  private readonly scripts: ScriptedRedis;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'fr:',
  ) {
    this.scripts = defineScripts<ScriptedRedis>(redis, { focusroomSeriesCas: { keys: 1, lua: CAS } });
  }

  private key(id: string): string {
    return `${this.prefix}{series:${id}}`;
  }

  private get idsKey(): string {
    return `${this.prefix}series:ids`;
  }

  async create(series: Series): Promise<void> {
    await redisCall(this.redis.set(this.key(series.id), JSON.stringify(series)));
    await redisCall(this.redis.sadd(this.idsKey, series.id));
  }

  async get(id: string): Promise<Series | null> {
    const raw = await redisCall(this.redis.get(this.key(id)));
    return raw ? (JSON.parse(raw) as Series) : null;
  }

  async update(id: string, change: (s: Series) => Series): Promise<Series | null> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const raw = await redisCall(this.redis.get(this.key(id)));
      if (!raw) return null;
      const next = change(JSON.parse(raw) as Series);
      const json = JSON.stringify(next);
      if (json === raw) return next;
      if ((await redisCall(this.scripts.focusroomSeriesCas(this.key(id), raw, json))) === 1) return next;
    }
    throw new Error(`series ${id}: too many concurrent changes`);
  }

  async ids(): Promise<string[]> {
    return redisCall(this.redis.smembers(this.idsKey));
  }

  async remove(id: string): Promise<void> {
    await redisCall(this.redis.del(this.key(id)));
    await redisCall(this.redis.srem(this.idsKey, id));
  }

  async seriesOf(identity: string): Promise<Series[]> {
    const all = await Promise.all((await this.ids()).map((id) => this.get(id)));
    return all.filter((s): s is Series => s !== null && s.members.some((m) => m.identity === identity));
  }
}
