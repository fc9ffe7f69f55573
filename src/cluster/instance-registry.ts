/**
 * The instance registry in Redis, under cluster presence (redis-presence.ts): which
 * instances are alive and which seats each one holds, so the seats of an instance that
 * died without a word (`kill -9`, a lost host) start their disconnect grace like any
 * dropped connection instead of staying "connected" forever.
 *
 * Keys (redis/redis-keys.ts; standalone names shown, on Redis Cluster each carries a
 * partition's hash tag):
 * - `{prefix}instances`        sorted set: presence id → last heartbeat (Redis time, ms)
 * - `{prefix}reaped:{id}`      tombstone left by the reaper, so a live instance that was
 *                              wrongly declared dead (a long stall) notices and repairs
 *                              (both on partition 0's slot: one script touches both)
 * - `{prefix}seats:{id}`       hash per partition: socket id → "code participantId", the
 *                              seats held there in rooms of that partition, so seat writes
 *                              spread over the cluster like the rooms they belong to
 *
 * Time is Redis's own (`TIME` in the scripts), so clock skew between instances does not
 * make anyone look dead. Claiming a dead instance is one script (ZREM wins once), so its
 * seats are handed to exactly one reaper.
 */
import type { RedisClient, RedisKeys } from '../redis/redis-keys.js';

export interface DeadSeat {
  socketId: string;
  code: string;
  participantId: string;
}

export interface DeadInstance {
  id: string;
  seats: DeadSeat[];
}

/** `ok`: known and alive; `new`: not in the set (first beat, or Redis lost its data); `reaped`: declared dead meanwhile. */
export type Beat = 'ok' | 'new' | 'reaped';

/** KEYS: instances, tombstone. ARGV: id. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
if redis.call('DEL', KEYS[2]) == 1 then return 2 end
return added`;

/**
 * KEYS: instances. ARGV: dead-after ms, own id, tombstone key prefix, limit. Returns the
 * ids of the instances claimed (ZREM wins once, so each has one reaper); their seat
 * hashes are read afterwards and left for \`release\` once the seats have been handled.
 */
const REAP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(dead) do
  if id ~= ARGV[2] and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('SET', ARGV[3] .. id, '1', 'PX', 3600000)
    out[#out + 1] = id
  end
end
return out`;

interface ScriptedRedis {
  focusroomHeartbeat(instances: string, tombstone: string, id: string): Promise<number>;
  focusroomReap(instances: string, deadAfterMs: number, id: string, tombstonePrefix: string, limit: number): Promise<string[]>;
}

export class InstanceRegistry {
  private readonly scripts: ScriptedRedis;

  constructor(
    private readonly redis: RedisClient,
    /** Unique per process (a restarted instance is a new member), e.g. INSTANCE_ID + random. */
    readonly id: string,
    private readonly keys: RedisKeys,
  ) {
    redis.defineCommand('focusroomHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT });
    redis.defineCommand('focusroomReap', { numberOfKeys: 1, lua: REAP });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  async heartbeat(): Promise<Beat> {
    const r = await this.scripts.focusroomHeartbeat(this.keys.instances, this.keys.reaped(this.id), this.id);
    return r === 2 ? 'reaped' : r === 1 ? 'new' : 'ok';
  }

  private seatsKey(code: string, id = this.id): string {
    return this.keys.seats(this.keys.partitionOf(code), id);
  }

  async seat(socketId: string, code: string, participantId: string): Promise<void> {
    await this.redis.hset(this.seatsKey(code), socketId, `${code} ${participantId}`);
  }

  async seatAll(seats: DeadSeat[]): Promise<void> {
    for (const [key, group] of groupBy(seats, (s) => this.seatsKey(s.code))) {
      await this.redis.hset(key, Object.fromEntries(group.map((s) => [s.socketId, `${s.code} ${s.participantId}`])));
    }
  }

  async unseat(seats: { socketId: string; code: string }[]): Promise<void> {
    for (const [key, group] of groupBy(seats, (s) => this.seatsKey(s.code))) {
      await this.redis.hdel(key, ...group.map((s) => s.socketId));
    }
  }

  /** Claims instances silent for `deadAfterMs` (never this one) and returns their seats. */
  async reap(deadAfterMs: number, limit = 10): Promise<DeadInstance[]> {
    const ids = await this.scripts.focusroomReap(this.keys.instances, deadAfterMs, this.id, this.keys.reaped(''), limit);
    const dead: DeadInstance[] = [];
    for (const id of ids) {
      const hashes = await Promise.all(this.keys.all().map((p) => this.redis.hgetall(this.keys.seats(p, id))));
      const seats: DeadSeat[] = [];
      for (const hash of hashes) {
        for (const [socketId, value] of Object.entries(hash)) {
          const [code = '', participantId = ''] = value.split(' ');
          seats.push({ socketId, code, participantId });
        }
      }
      dead.push({ id, seats });
    }
    return dead;
  }

  /** Drops a reaped instance's seat lists once its seats have been handled. */
  async release(id: string): Promise<void> {
    await Promise.all(this.keys.all().map((p) => this.redis.del(this.keys.seats(p, id))));
  }
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
