/**
 * The instance registry in Redis, under cluster presence (redis-presence.ts): which
 * instances are alive and which seats each one holds, so the seats of an instance that
 * died without a word (`kill -9`, a lost host) start their disconnect grace like any
 * dropped connection instead of staying "connected" forever.
 *
 * Keys (one Redis, same prefix as the room store):
 * - `{prefix}instances`        sorted set: presence id → last heartbeat (Redis time, ms)
 * - `{prefix}seats:{id}`       hash: socket id → "code participantId", seats held there
 * - `{prefix}reaped:{id}`      tombstone left by the reaper, so a live instance that was
 *                              wrongly declared dead (a long stall) notices and repairs
 *
 * Time is Redis's own (`TIME` in the scripts), so clock skew between instances does not
 * make anyone look dead. Claiming a dead instance is one script (ZREM wins once), so its
 * seats are handed to exactly one reaper.
 */
import type { Redis } from 'ioredis';

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
 * KEYS: instances. ARGV: dead-after ms, own id, key prefix, limit. Returns a flat list
 * id, n, socket, seat, ... for every instance claimed; its seat hash is left for
 * \`release\` once the seats have been handled.
 */
const REAP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(dead) do
  if id ~= ARGV[2] and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('SET', ARGV[3] .. 'reaped:' .. id, '1', 'PX', 3600000)
    local seats = redis.call('HGETALL', ARGV[3] .. 'seats:' .. id)
    out[#out + 1] = id
    out[#out + 1] = #seats / 2
    for _, v in ipairs(seats) do out[#out + 1] = v end
  end
end
return out`;

interface ScriptedRedis {
  focusroomHeartbeat(instances: string, tombstone: string, id: string): Promise<number>;
  focusroomReap(instances: string, deadAfterMs: number, id: string, prefix: string, limit: number): Promise<string[]>;
}

export class InstanceRegistry {
  private readonly scripts: ScriptedRedis;

  constructor(
    private readonly redis: Redis,
    /** Unique per process (a restarted instance is a new member), e.g. INSTANCE_ID + random. */
    readonly id: string,
    private readonly prefix = 'fr:',
  ) {
    redis.defineCommand('focusroomHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT });
    redis.defineCommand('focusroomReap', { numberOfKeys: 1, lua: REAP });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  private get instancesKey(): string {
    return `${this.prefix}instances`;
  }

  private seatsKey(id: string): string {
    return `${this.prefix}seats:${id}`;
  }

  async heartbeat(): Promise<Beat> {
    const r = await this.scripts.focusroomHeartbeat(this.instancesKey, `${this.prefix}reaped:${this.id}`, this.id);
    return r === 2 ? 'reaped' : r === 1 ? 'new' : 'ok';
  }

  async seat(socketId: string, code: string, participantId: string): Promise<void> {
    await this.redis.hset(this.seatsKey(this.id), socketId, `${code} ${participantId}`);
  }

  async seatAll(seats: DeadSeat[]): Promise<void> {
    if (seats.length === 0) return;
    await this.redis.hset(this.seatsKey(this.id), Object.fromEntries(seats.map((s) => [s.socketId, `${s.code} ${s.participantId}`])));
  }

  async unseat(socketIds: string[]): Promise<void> {
    if (socketIds.length > 0) await this.redis.hdel(this.seatsKey(this.id), ...socketIds);
  }

  /** Claims instances silent for `deadAfterMs` (never this one) and returns their seats. */
  async reap(deadAfterMs: number, limit = 10): Promise<DeadInstance[]> {
    const flat = await this.scripts.focusroomReap(this.instancesKey, deadAfterMs, this.id, this.prefix, limit);
    const dead: DeadInstance[] = [];
    for (let i = 0; i < flat.length; ) {
      const id = flat[i++]!;
      const n = Number(flat[i++]);
      const seats: DeadSeat[] = [];
      for (let k = 0; k < n; k++) {
        const socketId = flat[i++]!;
        const [code = '', participantId = ''] = flat[i++]!.split(' ');
        seats.push({ socketId, code, participantId });
      }
      dead.push({ id, seats });
    }
    return dead;
  }

  /** Drops a reaped instance's seat list once its seats have been handled. */
  async release(id: string): Promise<void> {
    await this.redis.del(this.seatsKey(id));
  }
}
