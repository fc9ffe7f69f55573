/**
 * The booking index in Redis: one hash per identity, `{prefix}{id:<identity>}:bookings`,
 * room code → "start:end:at". Every script touches that one key only, so all of an
 * identity's bookings sit in one hash slot (the `{id:…}` tag) and the scripts run
 * unchanged on Redis Cluster. The key expires a margin after its last window ends.
 */
import type { Window } from '../domain/schedule.js';
import { type BookingEntry, type BookingIndex, bySoonest } from './booking-index.js';
import { redisCall } from '../redis/redis-call.js';
import type { RedisClient } from '../redis/redis-keys.js';

/** KEYS: bookings. ARGV: room, start, end, now, margin ms. Returns {} when booked, else {room, value}. */
const BOOK = `
local s, e, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local entries = redis.call('HGETALL', KEYS[1])
local last = e
for i = 1, #entries, 2 do
  local room, v = entries[i], entries[i + 1]
  local ws, we = string.match(v, '^(%d+):(%d+):')
  ws, we = tonumber(ws), tonumber(we)
  if we == nil or we <= now then
    redis.call('HDEL', KEYS[1], room)
  elseif room ~= ARGV[1] then
    if ws < e and s < we then return {room, v} end
    if we > last then last = we end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3] .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.max(1, last - now) + tonumber(ARGV[5]))
return {}`;

/**
 * KEYS: bookings. ARGV: now, margin ms, then room, start, end for each wanted room (soonest
 * first). All or none: returns {} when booked, else {wanted room, existing room, value}.
 */
const BOOK_MANY = `
local now = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local wanted = {}
for j = 3, #ARGV, 3 do wanted[ARGV[j]] = true end
local live = {}
local last = now
for i = 1, #entries, 2 do
  local room, v = entries[i], entries[i + 1]
  local ws, we = string.match(v, '^(%d+):(%d+):')
  ws, we = tonumber(ws), tonumber(we)
  if we == nil or we <= now then
    redis.call('HDEL', KEYS[1], room)
  elseif not wanted[room] then
    live[#live + 1] = {room, v, ws, we}
    if we > last then last = we end
  end
end
for j = 3, #ARGV, 3 do
  local s, e = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
  for _, x in ipairs(live) do
    if x[3] < e and s < x[4] then return {ARGV[j], x[1], x[2]} end
  end
end
for j = 3, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1] .. ':' .. ARGV[j + 2] .. ':' .. ARGV[1])
  local e = tonumber(ARGV[j + 2])
  if e > last then last = e end
end
redis.call('PEXPIRE', KEYS[1], math.max(1, last - now) + tonumber(ARGV[2]))
return {}`;

/** KEYS: bookings. ARGV: room, at ('' = whatever is there). */
const RELEASE = `
if ARGV[2] ~= '' then
  local v = redis.call('HGET', KEYS[1], ARGV[1])
  if not v or string.match(v, ':(%d+)$') ~= ARGV[2] then return 0 end
end
return redis.call('HDEL', KEYS[1], ARGV[1])`;

interface ScriptedRedis {
  focusroomBook(key: string, ...argv: (string | number)[]): Promise<string[]>;
  focusroomRelease(key: string, ...argv: (string | number)[]): Promise<number>;
  focusroomBookMany(key: string, ...argv: (string | number)[]): Promise<string[]>;
}

/** Slack past an identity's last window before Redis drops its index on its own. */
const EXPIRY_MARGIN_MS = 24 * 60 * 60 * 1000;

function parse(room: string, value: string): BookingEntry | null {
  const m = /^(\d+):(\d+):(\d+)$/.exec(value);
  return m ? { room, start: Number(m[1]), end: Number(m[2]), at: Number(m[3]) } : null;
}

export class RedisBookingIndex implements BookingIndex {
  private readonly scripts: ScriptedRedis;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'fr:',
  ) {
    redis.defineCommand('focusroomBook', { numberOfKeys: 1, lua: BOOK });
    redis.defineCommand('focusroomRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('focusroomBookMany', { numberOfKeys: 1, lua: BOOK_MANY });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  private key(identity: string): string {
    return `${this.prefix}{id:${identity}}:bookings`;
  }

  async book(identity: string, room: string, window: Window, now: number): Promise<BookingEntry | null> {
    const r = await redisCall(this.scripts.focusroomBook(this.key(identity), room, window.start, window.end, now, EXPIRY_MARGIN_MS));
    return r.length === 2 ? parse(r[0]!, r[1]!) : null;
  }

  async bookMany(identity: string, wanted: { room: string; window: Window }[], now: number): Promise<{ wanted: string; entry: BookingEntry } | null> {
    if (wanted.length === 0) return null;
    const sorted = [...wanted].sort((a, b) => a.window.start - b.window.start);
    const argv = sorted.flatMap((w) => [w.room, w.window.start, w.window.end]);
    const r = await redisCall(this.scripts.focusroomBookMany(this.key(identity), now, EXPIRY_MARGIN_MS, ...argv));
    if (r.length !== 3) return null;
    const entry = parse(r[1]!, r[2]!);
    return entry ? { wanted: r[0]!, entry } : null;
  }

  async release(identity: string, room: string, ifAt?: number): Promise<void> {
    await redisCall(this.scripts.focusroomRelease(this.key(identity), room, ifAt === undefined ? '' : String(ifAt)));
  }

  async list(identity: string, now: number): Promise<BookingEntry[]> {
    const all = await redisCall(this.redis.hgetall(this.key(identity)));
    return Object.entries(all)
      .map(([room, v]) => parse(room, v))
      .filter((e): e is BookingEntry => e !== null && e.end > now)
      .sort(bySoonest);
  }
}
